//! The command parser on arbitrary bytes: it must never panic, and whatever it
//! accepts must mean the same once written back out. The relay re-sends paths
//! and parameters to the upstream in their `Display` form, so a path that prints
//! as something the parser reads differently would let a client make the
//! upstream see another address or extra parameters than the ones we judged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwall::smtp::command::{Body, Command, MailParams, RcptParams, parse};

fuzz_target!(|line: &[u8]| {
    let Ok(command) = parse(line) else { return };
    let written = match &command {
        Command::Mail(path, params) => format!("MAIL FROM:{path}{}", mail_params(params)),
        Command::Rcpt(path, params) => format!("RCPT TO:{path}{}", rcpt_params(params)),
        Command::Ehlo(name) => format!("EHLO {name}"),
        Command::Helo(name) => format!("HELO {name}"),
        Command::Bdat { size, last } => format!("BDAT {size}{}", if *last { " LAST" } else { "" }),
        _ => return,
    };
    assert_eq!(
        parse(written.as_bytes()),
        Ok(command),
        "{:?} was written back as {written:?}",
        String::from_utf8_lossy(line)
    );
});

/// MAIL parameters as the relay writes them (every one, as if all were offered).
fn mail_params(p: &MailParams) -> String {
    let mut out = String::new();
    if let Some(size) = p.size {
        out += &format!(" SIZE={size}");
    }
    match p.body {
        Some(Body::SevenBit) => out += " BODY=7BIT",
        Some(Body::EightBitMime) => out += " BODY=8BITMIME",
        None => {}
    }
    if p.smtputf8 {
        out += " SMTPUTF8";
    }
    if let Some(ret) = &p.ret {
        out += &format!(" RET={ret}");
    }
    if let Some(envid) = &p.envid {
        out += &format!(" ENVID={envid}");
    }
    out
}

/// RCPT parameters as the relay writes them.
fn rcpt_params(p: &RcptParams) -> String {
    let mut out = String::new();
    if let Some(notify) = &p.notify {
        out += &format!(" NOTIFY={notify}");
    }
    if let Some(orcpt) = &p.orcpt {
        out += &format!(" ORCPT={orcpt}");
    }
    out
}
