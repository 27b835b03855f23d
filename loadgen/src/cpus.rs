//! Which CPUs this process may run on, so shards pin inside the caller's mask.
//!
//! Benchmarks pin the proxy to one core and the load generator and sink to the
//! other with `taskset`. Pinning shard 0 to CPU 0 blindly would undo that, so
//! shards are placed on the CPUs the process is allowed to use, in order.

use std::fs;

/// The CPUs this process may run on, in ascending order.
///
/// Read from `Cpus_allowed_list` in `/proc/self/status` (which reflects
/// `taskset` and cgroup cpusets); if that is unreadable, falls back to
/// `0..available_parallelism` so pinning still works on an unusual host.
pub fn allowed() -> Vec<usize> {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .and_then(|list| parse_list(list.trim()))
        })
        .filter(|cpus| !cpus.is_empty())
        .unwrap_or_else(|| {
            let count = std::thread::available_parallelism().map_or(1, usize::from);
            (0..count).collect()
        })
}

/// Parses the kernel's CPU list syntax (`0-3,8,10-11`); `None` if malformed.
fn parse_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|part| !part.is_empty()) {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (usize, usize) = (first.parse().ok()?, last.parse().ok()?);
                cpus.extend(first..=last);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ranges_and_singles() {
        assert_eq!(parse_list("0-3,8,10-11"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse_list("1"), Some(vec![1]));
        assert_eq!(parse_list("x"), None);
    }

    #[test]
    fn this_process_may_run_somewhere() {
        assert!(!allowed().is_empty());
    }
}
