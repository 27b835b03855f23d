//! The PROXY protocol parser on arbitrary octets, as an unauthenticated peer in
//! a trusted network range (or a spoofed one) could send them. It must never
//! panic, never claim more than it was given or more than the v2 bound, never
//! ask to read more past the bound (the shell's buffer is that large), and a
//! header it accepts must parse the same from exactly the octets it took.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwall::smtp::proxy::{MAX_TLVS, Parsed, V2_MAX, parse};

fuzz_target!(|input: &[u8]| {
    match parse(input) {
        Ok(Parsed::Incomplete) => assert!(input.len() < V2_MAX, "incomplete at {}", input.len()),
        Ok(Parsed::Complete { header, consumed }) => {
            assert!(consumed <= input.len() && consumed <= V2_MAX);
            assert!(header.tlvs.len() <= MAX_TLVS);
            assert_eq!(
                parse(&input[..consumed]),
                Ok(Parsed::Complete { header, consumed })
            );
        }
        Err(_) => {}
    }
});
