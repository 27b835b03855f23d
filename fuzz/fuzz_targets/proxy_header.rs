//! The PROXY protocol parser on arbitrary octets, as an unauthenticated peer in
//! a trusted network range (or a spoofed one) could send them. It must never
//! panic, never claim more than it was given or more than the v2 bound, never
//! ask to read more past the bound (the shell's buffer is that large), and a
//! header it accepts must parse the same from exactly the octets it took.
//! What it decides must stay decided (the shell reads in arbitrary chunks):
//! more octets never turn an error or a header into something else, and an
//! accepted header's beginnings are all Incomplete.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwall::smtp::proxy::{MAX_TLVS, Parsed, ProxyCommand, V2_MAX, parse};

fuzz_target!(|input: &[u8]| {
    let result = parse(input);
    match &result {
        Ok(Parsed::Incomplete) => {
            assert!(input.len() < V2_MAX, "incomplete at {}", input.len());
            return;
        }
        Ok(Parsed::Complete { header, consumed }) => {
            let consumed = *consumed;
            assert!(consumed <= input.len() && consumed <= V2_MAX);
            assert!(header.tlvs.len() <= MAX_TLVS);
            assert_eq!(
                header.addresses.is_some(),
                header.command == ProxyCommand::Proxy
            );
            assert_eq!(parse(&input[..consumed]), result);
            // Two beginnings, picked by the input itself.
            for cut in [consumed - 1, usize::from(input[0]) % consumed] {
                assert_eq!(parse(&input[..cut]), Ok(Parsed::Incomplete), "cut {cut}");
            }
        }
        Err(_) => {}
    }
    let mut longer = input.to_vec();
    longer.extend_from_slice(b"\r\n\0 1");
    assert_eq!(parse(&longer), result, "more octets changed the outcome");
});
