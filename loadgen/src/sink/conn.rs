//! The connection driver: moves bytes between a socket and a [`Session`].
//!
//! It owns the only IO of a connection: one read buffer, one reply buffer
//! written with one send per batch of pipelined commands, and the actions at
//! end-of-data that need a clock or a socket (delay, close, hold).

use std::io;
use std::rc::Rc;

use futures_lite::AsyncWriteExt;
use glommio::net::TcpStream;

use super::buffer::InputBuffer;
use super::rng::SplitMix64;
use super::shard::ShardState;
use super::smtp::{Delivery, Event, Outcome, Session, reply};

/// Serves one accepted connection until the client leaves, the session ends
/// or an injected failure drops it. IO errors just end the connection: a
/// sink has nobody to report a reset peer to.
pub(crate) async fn serve(mut stream: TcpStream, shard: Rc<ShardState>, dice: SplitMix64) {
    // Replies are small and often follow a pause (--delay); without this,
    // Nagle's algorithm would hold them for the peer's delayed ACK.
    let _ = stream.set_nodelay(true);
    let _ = drive(&mut stream, &shard, dice).await;
}

/// The read-answer loop of [`serve`].
async fn drive(stream: &mut TcpStream, shard: &ShardState, dice: SplitMix64) -> io::Result<()> {
    let mut session = Session::new(Rc::clone(&shard.settings), dice);
    let mut input = InputBuffer::new();
    let mut out = Vec::with_capacity(512);
    session.greet(&mut out);
    loop {
        loop {
            let (used, event) = session.receive(input.unused(), &mut out);
            input.consume(used);
            let delivery = match event {
                None => break,
                Some(Event::Quit) => return send(stream, &mut out).await,
                Some(Event::Message(delivery)) => delivery,
            };
            let (outcome, size) = (delivery.outcome, delivery.size);
            let Some(answer) = outcome.reply() else {
                // Close or Timeout: the client never hears about this message.
                shard.count(outcome, size);
                send(stream, &mut out).await?;
                if outcome == Outcome::Timeout {
                    hold(stream, &mut input).await;
                }
                return Ok(());
            };
            let (outcome, answer) = keep_if_accepted(shard, &delivery, answer);
            if !shard.delay.is_zero() {
                send(stream, &mut out).await?;
                glommio::timer::sleep(shard.delay).await;
            }
            out.extend_from_slice(answer);
            shard.count(outcome, size);
        }
        send(stream, &mut out).await?;
        if input.fill(stream).await? == 0 {
            return Ok(());
        }
    }
}

/// Records and dumps an accepted message before it is acknowledged (as
/// many times as an injected fault says, usually once); if that fails the
/// message is tempfailed instead, so the sender keeps it.
fn keep_if_accepted(
    shard: &ShardState,
    delivery: &Delivery,
    answer: &'static [u8],
) -> (Outcome, &'static [u8]) {
    for _ in 0..delivery.outcome.copies() {
        if let Err(error) = shard.keep(delivery) {
            eprintln!("ringwall-loadgen sink: cannot store a message: {error}");
            return (Outcome::Tempfail, reply::STORE_FAILED);
        }
    }
    (delivery.outcome, answer)
}

/// Writes and clears the pending replies, if any.
async fn send(stream: &mut TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        stream.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// Keeps the connection open, reading and dropping whatever arrives, until
/// the client gives up: an upstream that stopped answering.
async fn hold(stream: &mut TcpStream, input: &mut InputBuffer) {
    while let Ok(read) = input.fill(stream).await {
        if read == 0 {
            return;
        }
        input.consume(input.unused().len());
    }
}
