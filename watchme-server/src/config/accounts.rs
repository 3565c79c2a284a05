//! Account settings: who gets the admin role, the cost of password
//! hashing, how much a user may keep in lists, and how large an import may be.

use std::collections::HashSet;

use clap::Args;
use watchme_adapters::crypto::Argon2Params;
use watchme_core::domain::Email;
use watchme_core::services::ListLimits;

use super::check::Check;

const DEFAULT_ARGON2_MEMORY_KIB: &str = "19456";
const DEFAULT_ARGON2_ITERATIONS: &str = "2";
const DEFAULT_ARGON2_PARALLELISM: &str = "1";
const DEFAULT_ARGON2_MAX_CONCURRENT: &str = "0";
const DEFAULT_LISTS_PER_USER: &str = "100";
const DEFAULT_LIST_ITEMS_MAX: &str = "5000";
const DEFAULT_IMPORT_MAX_MB: &str = "50";
const DEFAULT_IMPORT_MAX_UNPACKED_MB: &str = "500";

/// Raw account settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Accounts")]
pub struct RawAccounts {
    /// Comma-separated emails that get the admin role.
    #[arg(long, env = "WATCHME_ADMIN_EMAILS", default_value = "")]
    pub admin_emails: String,
    /// argon2id memory cost in KiB.
    #[arg(long, env = "WATCHME_ARGON2_MEMORY_KIB", default_value = DEFAULT_ARGON2_MEMORY_KIB)]
    pub argon2_memory_kib: String,
    /// argon2id passes.
    #[arg(long, env = "WATCHME_ARGON2_ITERATIONS", default_value = DEFAULT_ARGON2_ITERATIONS)]
    pub argon2_iterations: String,
    /// argon2id lanes.
    #[arg(long, env = "WATCHME_ARGON2_PARALLELISM", default_value = DEFAULT_ARGON2_PARALLELISM)]
    pub argon2_parallelism: String,
    /// Most argon2id hashes computed at once; 0 = one fewer than the CPU cores (at least 1).
    #[arg(long, env = "WATCHME_ARGON2_MAX_CONCURRENT", default_value = DEFAULT_ARGON2_MAX_CONCURRENT)]
    pub argon2_max_concurrent: String,
    /// Most lists one user may have.
    #[arg(long, env = "WATCHME_LISTS_PER_USER", default_value = DEFAULT_LISTS_PER_USER)]
    pub lists_per_user: String,
    /// Most movies one list may hold.
    #[arg(long, env = "WATCHME_LIST_ITEMS_MAX", default_value = DEFAULT_LIST_ITEMS_MAX)]
    pub list_items_max: String,
    /// Largest import upload, in MiB.
    #[arg(long, env = "WATCHME_IMPORT_MAX_MB", default_value = DEFAULT_IMPORT_MAX_MB)]
    pub import_max_mb: String,
    /// Most an import ZIP may unpack to, in MiB (more is refused as a ZIP bomb).
    #[arg(long, env = "WATCHME_IMPORT_MAX_UNPACKED_MB", default_value = DEFAULT_IMPORT_MAX_UNPACKED_MB)]
    pub import_max_unpacked_mb: String,
}

/// The validated account settings.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Emails granted the admin role.
    pub admin_emails: HashSet<Email>,
    /// argon2id cost.
    pub argon2: Argon2Params,
    /// Most hashes at once (0 = the hasher's default, cores - 1).
    pub argon2_max_concurrent: usize,
    /// Lists per user and movies per list.
    pub lists: ListLimits,
    /// Largest import upload, in bytes.
    pub import_max_bytes: usize,
    /// What an import ZIP may unpack to.
    pub import_limits: watchme_adapters::imports::ImportLimits,
}

impl RawAccounts {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            admin_emails: String::new(),
            argon2_memory_kib: DEFAULT_ARGON2_MEMORY_KIB.into(),
            argon2_iterations: DEFAULT_ARGON2_ITERATIONS.into(),
            argon2_parallelism: DEFAULT_ARGON2_PARALLELISM.into(),
            argon2_max_concurrent: DEFAULT_ARGON2_MAX_CONCURRENT.into(),
            lists_per_user: DEFAULT_LISTS_PER_USER.into(),
            list_items_max: DEFAULT_LIST_ITEMS_MAX.into(),
            import_max_mb: DEFAULT_IMPORT_MAX_MB.into(),
            import_max_unpacked_mb: DEFAULT_IMPORT_MAX_UNPACKED_MB.into(),
        }
    }

    pub(super) fn validate(&self, c: &mut Check) -> Accounts {
        let mut admin_emails = HashSet::new();
        for raw in self.admin_emails.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match Email::parse(raw) {
                Ok(e) => {
                    admin_emails.insert(e);
                }
                Err(e) => c.fail("WATCHME_ADMIN_EMAILS", format!("{raw:?} is not a valid email: {e}")),
            }
        }
        Accounts {
            admin_emails,
            argon2: Argon2Params {
                memory_kib: c.number("WATCHME_ARGON2_MEMORY_KIB", &self.argon2_memory_kib, 8u32, 4 * 1024 * 1024),
                iterations: c.number("WATCHME_ARGON2_ITERATIONS", &self.argon2_iterations, 1u32, 100),
                parallelism: c.number("WATCHME_ARGON2_PARALLELISM", &self.argon2_parallelism, 1u32, 64),
            },
            argon2_max_concurrent: c.number("WATCHME_ARGON2_MAX_CONCURRENT", &self.argon2_max_concurrent, 0usize, 1024),
            lists: ListLimits {
                lists_per_user: c.number("WATCHME_LISTS_PER_USER", &self.lists_per_user, 1u64, 100_000),
                items_per_list: c.number("WATCHME_LIST_ITEMS_MAX", &self.list_items_max, 1u64, 1_000_000),
            },
            import_max_bytes: c.number("WATCHME_IMPORT_MAX_MB", &self.import_max_mb, 1usize, 4096) * 1024 * 1024,
            import_limits: watchme_adapters::imports::ImportLimits {
                max_entries: 10_000,
                max_unpacked: c.number("WATCHME_IMPORT_MAX_UNPACKED_MB", &self.import_max_unpacked_mb, 1u64, 65_536)
                    * 1024
                    * 1024,
            },
        }
    }
}
