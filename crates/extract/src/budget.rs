//! Budgets for one item and everything nested in it: hostile input (zip bombs, deep nesting,
//! parsers that loop) ends as a reported skip, never as a hang or an exhausted machine.

use crate::Error;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Configurable limits. The defaults suit file shares: generous for real documents, small
/// against bombs.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Containers nested deeper than this (`a.zip!b.zip!c.docx` is depth 2) are skipped.
    pub max_depth: u32,
    /// Largest expanded size of one member or part, and of a container read into memory.
    pub max_member_size: u64,
    /// Largest expanded size of all members of one top-level item together.
    pub max_total_size: u64,
    /// Largest compression ratio (expanded / compressed) of a member bigger than 1 MiB.
    pub max_ratio: u64,
    /// Most members of one container.
    pub max_members: u64,
    /// Wall-clock time for one top-level item and all it contains.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 8,
            max_member_size: 256 << 20,
            max_total_size: 1 << 30,
            max_ratio: 200,
            max_members: 100_000,
            timeout: Duration::from_secs(60),
        }
    }
}

/// The budget of one top-level item, shared by everything nested in it (single-threaded: one
/// worker owns an item from start to end).
#[derive(Clone, Debug)]
pub struct Budget {
    pub limits: Limits,
    /// Nesting depth of the item this budget is for (0: a file on disk).
    pub depth: u32,
    deadline: Instant,
    expanded: Rc<Cell<u64>>,
}

/// Ratio checks start above this expanded size: small parts compress well and harmlessly.
const RATIO_FLOOR: u64 = 1 << 20;

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        let deadline = Instant::now() + limits.timeout;
        Budget { limits, depth: 0, deadline, expanded: Rc::new(Cell::new(0)) }
    }

    /// The budget of a member one level down; `OverBudget` past the depth limit.
    pub fn nested(&self) -> Result<Budget, Error> {
        if self.depth >= self.limits.max_depth {
            return Err(Error::OverBudget(format!("nested deeper than {} levels", self.limits.max_depth)));
        }
        Ok(Budget { depth: self.depth + 1, ..self.clone() })
    }

    /// `OverBudget` once the item's time is up. Parsers call this between parts and every few
    /// thousand events.
    pub fn check_time(&self) -> Result<(), Error> {
        if Instant::now() > self.deadline {
            return Err(Error::OverBudget(format!(
                "took longer than the time limit of {} s",
                self.limits.timeout.as_secs_f64()
            )));
        }
        Ok(())
    }

    /// Time left, for work that runs on a watchdog thread.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Limit for the expanded size of the next member: the per-member limit, or what is left of
    /// the total.
    pub fn member_limit(&self) -> u64 {
        self.limits.max_member_size.min(self.limits.max_total_size.saturating_sub(self.expanded.get()))
    }

    /// Checks a member's sizes against the limits: declared ones before it is expanded, and
    /// what expanding has produced so far while it is.
    pub fn check_declared(&self, expanded: u64, compressed: u64) -> Result<(), Error> {
        let limit = self.member_limit();
        if expanded > limit {
            return Err(self.size_error(expanded));
        }
        if expanded > RATIO_FLOOR && expanded / compressed.max(1) > self.limits.max_ratio {
            return Err(Error::OverBudget(format!(
                "compression ratio {}:1 is over the limit of {}:1 (zip bomb?)",
                expanded / compressed.max(1),
                self.limits.max_ratio
            )));
        }
        Ok(())
    }

    /// Reads a member's expanded bytes, enforcing the limits on what is actually produced
    /// (declared sizes can lie). `compressed` is its size in the container, for the ratio.
    pub fn read_member(&self, mut reader: impl std::io::Read, compressed: u64) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Corrupt(format!("cannot expand: {e}"))),
            };
            out.extend_from_slice(&chunk[..n]);
            self.check_declared(out.len() as u64, compressed)?;
            if out.len() % (16 << 20) < n {
                self.check_time()?;
            }
        }
        self.expanded.set(self.expanded.get() + out.len() as u64);
        Ok(out)
    }

    fn size_error(&self, size: u64) -> Error {
        if size > self.limits.max_member_size {
            Error::OverBudget(format!("expands to more than the member limit of {} bytes", self.limits.max_member_size))
        } else {
            Error::OverBudget(format!(
                "expanding it would pass the total limit of {} bytes for one item",
                self.limits.max_total_size
            ))
        }
    }
}
