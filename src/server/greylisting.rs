//! The shell of greylisting: each shard keeps the triplets of the client
//! networks that hash to it, and asks the owner of any other network over
//! the mesh, so a client retrying through another shard (SO_REUSEPORT picks
//! one per connection) finds its first attempt.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use super::mesh::{self, Mesh};
use crate::rbl::{GreyDecision, Greylist, GreylistSettings, Triplet};

/// The mesh greylisting's shards ask each other over.
pub type GreyMesh = mesh::Builder<Triplet, GreyDecision>;

/// One shard's greylisting.
pub struct Greylisting {
    settings: GreylistSettings,
    list: Rc<RefCell<Greylist>>,
    mesh: Rc<Mesh<Triplet, GreyDecision>>,
}

impl Greylisting {
    /// Joins the mesh (when there is one) and starts judging the peers'
    /// attempts for the networks this shard owns.
    pub async fn join(
        me: usize,
        shards: usize,
        settings: GreylistSettings,
        builder: Option<GreyMesh>,
    ) -> Rc<Greylisting> {
        let list = Rc::new(RefCell::new(Greylist::new(settings)));
        let owner_side = Rc::clone(&list);
        let handler: mesh::Handler<Triplet, GreyDecision> = Rc::new(move |triplet| {
            let decision = owner_side.borrow_mut().check(triplet, Instant::now());
            Box::pin(async move { decision })
        });
        let mesh = Mesh::join(me, shards, builder, handler).await;
        Rc::new(Greylisting {
            settings,
            list,
            mesh,
        })
    }

    /// Judges an attempt from `client` (sender empty for `<>`).
    pub async fn check(&self, client: IpAddr, sender: &str, recipient: &str) -> GreyDecision {
        let triplet = Triplet::new(&self.settings, client, sender, recipient);
        if self.mesh.owns(&triplet.network) {
            return self.list.borrow_mut().check(triplet, Instant::now());
        }
        let owner = self.mesh.owner(&triplet.network);
        // The owner is gone (shutdown): let the mail through rather than
        // defer it on a judgement nobody can make.
        self.mesh
            .ask(owner, triplet)
            .await
            .unwrap_or(GreyDecision::Pass)
    }
}
