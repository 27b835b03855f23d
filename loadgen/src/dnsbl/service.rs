//! What the UDP and TCP loops share on the emulator's executor: answering a
//! query and counting it, in one place so both transports count alike.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use super::answer::{Responder, Transport};
use super::counts::Counters;

/// The packets to send for one query: a forged answer first, if any, then
/// the real one after the latency, if any.
pub(crate) type Packets = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The executor's answering state.
#[derive(Debug)]
pub(crate) struct Service {
    /// Decides answers; borrowed only for the synchronous decision.
    responder: RefCell<Responder>,
    /// Where every query is counted, readable from other threads.
    counters: Arc<Counters>,
    /// Delay before each real answer.
    pub(crate) latency: Duration,
}

impl Service {
    /// Answers and counts through `responder` and `counters`, delaying
    /// answers by `latency`.
    pub(crate) fn new(responder: Responder, counters: Arc<Counters>, latency: Duration) -> Self {
        Self {
            responder: RefCell::new(responder),
            counters,
            latency,
        }
    }

    /// Decides the answer to `packet` and counts the query.
    pub(crate) fn respond(&self, packet: &[u8], transport: Transport) -> Packets {
        let reply = self.responder.borrow_mut().respond(packet, transport);
        self.counters.add(reply.zone, reply.class);
        (reply.forged, reply.answer)
    }
}
