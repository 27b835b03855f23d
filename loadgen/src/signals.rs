//! SIGINT/SIGTERM turn into a flag that the shards poll on a timer.
//!
//! A signal handler may do almost nothing safely, and the shards must not pay
//! for signal checks per message, so a handler only sets an `AtomicBool` that
//! each executor's stop timer reads a few times a second.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// Sets `stop` on the first SIGINT or SIGTERM, so the tool can print its
/// counts and exit cleanly; a second one exits at once (status 130) in case
/// the clean stop is stuck.
pub fn stop_on_signals(stop: &Arc<AtomicBool>) -> io::Result<()> {
    for signal in [SIGINT, SIGTERM] {
        // The shutdown action must be registered first: it then sees the flag
        // as it was before this signal set it, so only a second signal exits.
        flag::register_conditional_shutdown(signal, 130, Arc::clone(stop))?;
        flag::register(signal, Arc::clone(stop))?;
    }
    Ok(())
}
