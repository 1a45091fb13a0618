//! The machine a run happened on, and the process's memory high-water mark.

use serde::Serialize;

/// What `bench/RESULTS.md` records next to the numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub memory: String,
    pub rustc: String,
    pub kernel: String,
    pub date: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let run = |cmd: &str, args: &[&str]| {
            std::process::Command::new(cmd)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| format!("({cmd} unavailable)"))
        };
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory: run("free", &["-h"]),
            rustc: run("rustc", &["--version"]),
            kernel: run("uname", &["-srm"]),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// A field of `/proc/self/status` in KiB (`VmHWM`: peak resident set; `VmRSS`: current).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0: writing 5 to `clear_refs`). False where not supported.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time (user + system) this process has used so far, in seconds (`/proc/self/stat`, USER_HZ = 100).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the state field (index 0 here).
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
