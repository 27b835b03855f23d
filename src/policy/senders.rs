//! `[senders] allow` and `block`: envelope senders decided before scoring,
//! the lists every gateway's operator keeps for partners and pests.

use std::collections::HashSet;

use crate::config::SendersConfig;

/// What the lists say about a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// On neither list.
    No,
    /// On `allow`: never tagged or refused by score.
    Allow,
    /// On `block` (it wins over `allow`): refused.
    Block,
}

/// The compiled lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SenderLists {
    allow: Entries,
    block: Entries,
}

/// One list: whole addresses, domains with their subdomains, exact domains.
#[derive(Debug, Clone, Default, PartialEq)]
struct Entries {
    addresses: HashSet<String>,
    domains_and_below: HashSet<String>,
    exact_domains: HashSet<String>,
}

impl Entries {
    fn new(entries: &[String]) -> Entries {
        let mut out = Entries::default();
        for entry in entries {
            let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
            if let Some(domain) = entry.strip_prefix('@') {
                out.exact_domains.insert(domain.to_string());
            } else if entry.contains('@') {
                out.addresses.insert(entry);
            } else {
                out.domains_and_below.insert(entry);
            }
        }
        out
    }

    fn contains(&self, address: &str, domain: &str) -> bool {
        if self.addresses.contains(address) || self.exact_domains.contains(domain) {
            return true;
        }
        // The domain, then each parent: mail.news.example.com matches
        // example.com.
        let mut rest = domain;
        loop {
            if self.domains_and_below.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => return false,
            }
        }
    }
}

impl SenderLists {
    /// The lists of `[senders]`.
    pub fn new(config: &SendersConfig) -> SenderLists {
        SenderLists {
            allow: Entries::new(&config.allow),
            block: Entries::new(&config.block),
        }
    }

    /// What the lists say about `sender` (`local@domain`; empty for the
    /// null sender, which no list names).
    pub fn check(&self, sender: &str) -> Listed {
        let address = sender.to_ascii_lowercase();
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Listed::No;
        };
        let domain = domain.trim_end_matches('.');
        if self.block.contains(&address, domain) {
            Listed::Block
        } else if self.allow.contains(&address, domain) {
            Listed::Allow
        } else {
            Listed::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(allow: &[&str], block: &[&str]) -> SenderLists {
        SenderLists::new(&SendersConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            block: block.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn addresses_domains_and_exact_domains() {
        let lists = lists(
            &["partner.example", "@exact.example", "Boss@Corp.example"],
            &["spam.partner.example"],
        );
        assert_eq!(lists.check("a@partner.example"), Listed::Allow);
        assert_eq!(lists.check("a@mail.partner.example"), Listed::Allow);
        assert_eq!(
            lists.check("a@x.spam.partner.example"),
            Listed::Block,
            "block wins"
        );
        assert_eq!(lists.check("a@exact.example"), Listed::Allow);
        assert_eq!(lists.check("a@sub.exact.example"), Listed::No);
        assert_eq!(lists.check("boss@corp.example"), Listed::Allow);
        assert_eq!(lists.check("other@corp.example"), Listed::No);
        assert_eq!(lists.check("a@notpartner.example"), Listed::No);
        assert_eq!(lists.check(""), Listed::No, "the null sender");
    }
}
