//! The sink's SMTP server side, without sockets or clocks.
//!
//! The connection driver feeds received bytes to a [`Session`] and gets back
//! reply bytes and [`Event`]s; everything about SMTP (commands, PIPELINING,
//! DATA and BDAT framing, injected failures) is decided here, so it is tested
//! with byte strings alone.

mod body;
mod command;
mod data;
mod outcome;
pub(crate) mod reply;
mod session;
mod settings;

pub(crate) use outcome::Outcome;
pub(crate) use session::{Delivery, Event, Session};
pub(crate) use settings::Settings;
