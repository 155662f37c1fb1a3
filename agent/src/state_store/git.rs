//! The Git writer: a warm clone of the store's branch, brought up to date,
//! changed by a whole batch, committed once and pushed.
//!
//! It drives the `git` command line: no pure-Rust Git library pushes over both
//! HTTP and SSH, and libgit2 would bring C builds of OpenSSL and libssh2.
//! Credentials reach `git` only through its environment (an `http.extraHeader`
//! for basic auth, a `GIT_SSH_COMMAND` naming a key file for SSH), never in a URL
//! or an argument, so they appear in no process listing and no error message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kratix_shared::api::naming::md5_hex;
use kratix_shared::delivery::state_batch::{self, Change, StoreContents};

use super::credentials::GitAuth;
use super::{BatchOutcome, StoreError};

/// The longest one `git` command may take (a fetch or push of a large repository
/// over a slow link).
const GIT_TIMEOUT: Duration = Duration::from_secs(300);
/// Pushes rejected because someone else pushed first are retried this often.
const PUSH_ATTEMPTS: usize = 3;
const DEFAULT_AUTHOR_EMAIL: &str = "kratix@kratix.io";

pub struct GitRepo {
    /// For messages: `GitStateStore NAME`.
    pub label: String,
    pub url: String,
    pub branch: String,
    /// The store's `spec.path`: only files under it are the agent's.
    pub store_path: String,
    pub author_name: String,
    pub author_email: String,
    /// The clone; its parent holds the SSH key files.
    pub dir: PathBuf,
    /// When the clone last matched the remote, for `git.minimumFetchInterval`.
    synced_at: Option<Instant>,
    /// The remote branch does not exist yet (an empty repository).
    remote_empty: bool,
}

impl GitRepo {
    pub fn new(
        label: String,
        spec: &kratix_shared::api::state_store::GitStateStoreSpec,
        dir: PathBuf,
    ) -> GitRepo {
        let author = spec.git_author.clone().unwrap_or_default();
        GitRepo {
            label,
            url: spec.url.clone(),
            branch: spec
                .branch
                .clone()
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "main".to_owned()),
            store_path: spec.path.clone().unwrap_or_default(),
            author_name: author
                .name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "kratix".to_owned()),
            author_email: author
                .email
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| DEFAULT_AUTHOR_EMAIL.to_owned()),
            dir,
            synced_at: None,
            remote_empty: false,
        }
    }

    /// Applies a batch: up to date with the remote, plan, write, one commit, push.
    /// A push that loses a race with another writer is planned again on the new
    /// remote state.
    pub async fn write_batch(
        &mut self,
        changes: &[Change],
        auth: &GitAuth,
        min_fetch_interval: Duration,
    ) -> Result<BatchOutcome, StoreError> {
        let mut last_rejection = None;
        // Changes the clone could not take (a path the filesystem refuses): each
        // fails alone, and the batch is planned again without it.
        let mut refused: BTreeMap<usize, String> = BTreeMap::new();
        let mut pushes = 0;
        while pushes < PUSH_ATTEMPTS {
            self.refresh(auth, min_fetch_interval).await?;
            let (files, contents) = self.snapshot().await?;
            let read = |path: &str| contents.get(path).cloned();
            let plan = plan_without(changes, &refused, &files, &read);
            if plan.is_empty() {
                let version = self.head().await?;
                return Ok(BatchOutcome {
                    results: plan.results,
                    version,
                });
            }
            if let Err((path, error)) = self.apply(&plan.writes).await {
                match plan.owners.get(&path) {
                    Some(index) => {
                        refused.insert(
                            *index,
                            format!("{path}: {error}; nothing of this change was written"),
                        );
                        continue;
                    }
                    None => {
                        return Err(StoreError::Failed(format!(
                            "{}: writing {path} in the clone: {error}",
                            self.label
                        )));
                    }
                }
            }
            pushes += 1;
            self.commit(&plan.message(changes), auth).await?;
            let refspec = format!("HEAD:refs/heads/{}", self.branch);
            match self.git(&["push", "--quiet", "origin", &refspec], auth).await {
                Ok(_) => {
                    self.synced_at = Some(Instant::now());
                    self.remote_empty = false;
                    let version = self.head().await?;
                    return Ok(BatchOutcome {
                        results: plan.results,
                        version,
                    });
                }
                Err(StoreError::Rejected(message)) => {
                    // Someone else pushed: fetch and plan again.
                    self.synced_at = None;
                    last_rejection = Some(message);
                }
                Err(error) => {
                    self.synced_at = None;
                    return Err(error);
                }
            }
        }
        Err(StoreError::Failed(format!(
            "{}: the push was rejected {PUSH_ATTEMPTS} times (others keep pushing to {}): {}",
            self.label,
            self.branch,
            last_rejection.unwrap_or_default()
        )))
    }

    /// Commits everything in the clone, as the store's author.
    async fn commit(&self, message: &str, auth: &GitAuth) -> Result<(), StoreError> {
        self.git(&["add", "--all", "."], auth).await?;
        let name = format!("user.name={}", self.author_name);
        let email = format!("user.email={}", self.author_email);
        self.git(
            &[
                "-c",
                &name,
                "-c",
                &email,
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                message,
            ],
            auth,
        )
        .await?;
        Ok(())
    }

    /// Checks that the remote answers with these credentials.
    pub async fn probe(&mut self, auth: &GitAuth) -> Result<(), StoreError> {
        self.refresh(auth, Duration::ZERO).await
    }

    /// The clone, matching the remote branch (or empty when the branch does not
    /// exist yet), with nothing of an earlier failed attempt left.
    async fn refresh(&mut self, auth: &GitAuth, min_fetch_interval: Duration) -> Result<(), StoreError> {
        if !self.dir.join(".git").is_dir() {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| StoreError::Failed(format!("creating {}: {e}", self.dir.display())))?;
            let branch = format!("--initial-branch={}", self.branch);
            self.git(&["init", "--quiet", &branch], auth).await?;
            self.git(&["remote", "add", "origin", &self.url.clone()], auth)
                .await?;
            // A store's symbolic links are checked out as plain files: none can
            // point the agent's writes outside the clone.
            self.git(&["config", "core.symlinks", "false"], auth).await?;
            self.synced_at = None;
        }
        let fresh = self.synced_at.is_some_and(|at| at.elapsed() < min_fetch_interval);
        if !fresh {
            let refspec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", self.branch);
            match self
                .git(&["fetch", "--quiet", "--prune", "origin", &refspec], auth)
                .await
            {
                Ok(_) => self.remote_empty = false,
                Err(StoreError::Failed(message)) if message.contains("couldn't find remote ref") => {
                    self.remote_empty = true;
                }
                Err(error) => {
                    self.synced_at = None;
                    return Err(error);
                }
            }
        }
        let head = format!("refs/heads/{}", self.branch);
        self.git(&["symbolic-ref", "HEAD", &head], auth).await?;
        if self.remote_empty {
            // Start the branch afresh: no commit, no index, no files.
            let _ = self.git(&["update-ref", "-d", &head], auth).await;
            let _ = std::fs::remove_file(self.dir.join(".git/index"));
            clear_worktree(&self.dir)
                .map_err(|e| StoreError::Failed(format!("emptying {}: {e}", self.dir.display())))?;
        } else {
            let remote = format!("refs/remotes/origin/{}", self.branch);
            self.git(&["reset", "--quiet", "--hard", &remote], auth).await?;
            self.git(&["clean", "-ffdxq"], auth).await?;
        }
        if !fresh {
            self.synced_at = Some(Instant::now());
        }
        Ok(())
    }

    /// Every file under the store's path: md5 digests, and the contents of the
    /// flat layout's ownership files.
    #[allow(clippy::type_complexity)]
    async fn snapshot(
        &self,
    ) -> Result<(BTreeMap<String, Option<String>>, BTreeMap<String, Vec<u8>>), StoreError> {
        let dir = self.dir.clone();
        let store_path = self.store_path.clone();
        tokio::task::spawn_blocking(move || {
            let mut digests = BTreeMap::new();
            let mut ownership = BTreeMap::new();
            let start = kratix_shared::delivery::state_layout::join(&[&store_path]);
            let root = if start.is_empty() {
                dir.clone()
            } else {
                dir.join(&start)
            };
            walk(&dir, &root, &mut |relative, bytes| {
                if relative.contains("/.kratix/") || relative.starts_with(".kratix/") {
                    ownership.insert(relative.to_owned(), bytes.to_vec());
                }
                digests.insert(relative.to_owned(), Some(md5_hex(bytes)));
            })
            .map(|()| (digests, ownership))
            .map_err(|e| StoreError::Failed(format!("reading the clone at {}: {e}", dir.display())))
        })
        .await
        .map_err(|e| StoreError::Failed(format!("reading the clone: {e}")))?
    }

    /// Makes the writes in the clone; the first path that cannot be made, and why.
    async fn apply(&self, writes: &BTreeMap<String, Option<Vec<u8>>>) -> Result<(), (String, String)> {
        let dir = self.dir.clone();
        let writes = writes.clone();
        tokio::task::spawn_blocking(move || {
            for (path, content) in &writes {
                apply_one(&dir, path, content.as_deref()).map_err(|e| (path.clone(), e.to_string()))?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| Err((String::new(), format!("the writing task failed: {e}"))))
    }

    /// The commit the branch is at, `None` while it has none.
    async fn head(&self) -> Result<Option<String>, StoreError> {
        match self
            .git(&["rev-parse", "--verify", "--quiet", "HEAD"], &GitAuth::None)
            .await
        {
            Ok(sha) => Ok(Some(sha.trim().to_owned())),
            Err(_) if self.remote_empty => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Runs `git` in the clone; stdout on success. Errors carry git's own words,
    /// with any credential removed.
    async fn git(&self, args: &[&str], auth: &GitAuth) -> Result<String, StoreError> {
        let mut command = tokio::process::Command::new("git");
        command
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.parent().unwrap_or(&self.dir))
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        auth.apply(&mut command);
        let what = args.first().copied().unwrap_or("git");
        let output = tokio::time::timeout(GIT_TIMEOUT, command.output())
            .await
            .map_err(|_| {
                StoreError::Failed(format!(
                    "{}: git {what} took longer than {} s",
                    self.label,
                    GIT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                StoreError::Failed(format!("{}: cannot run git ({e}); is git installed?", self.label))
            })?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = auth.redact(String::from_utf8_lossy(&output.stderr).trim());
        let message = format!("{}: git {what} failed: {stderr}", self.label);
        if what == "push"
            && (stderr.contains("[rejected]")
                || stderr.contains("fetch first")
                || stderr.contains("non-fast-forward"))
        {
            Err(StoreError::Rejected(message))
        } else {
            Err(StoreError::Failed(message))
        }
    }
}

/// Writes (or, with no content, deletes) one file of the clone. No symbolic link
/// on the way is followed: a store may hold one pointing anywhere on the agent's
/// filesystem, and the agent writes only inside its clone.
fn apply_one(dir: &Path, relative: &str, content: Option<&[u8]>) -> std::io::Result<()> {
    let target = dir.join(relative);
    let mut current = dir.to_path_buf();
    for component in Path::new(relative).components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(std::io::Error::other(format!(
                    "{} is a symbolic link in the store; the agent follows no links, so remove it from the store",
                    current.strip_prefix(dir).unwrap_or(&current).display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(e),
        }
    }
    match content {
        Some(bytes) => {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, bytes)
        }
        None => match std::fs::remove_file(&target) {
            Ok(()) => {
                remove_empty_parents(dir, &target);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        },
    }
}

/// Calls `visit` with each file under `root`, by its path relative to `base`;
/// `.git` is skipped.
fn walk(base: &Path, root: &Path, visit: &mut dyn FnMut(&str, &[u8])) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name() == ".git" {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(base, &path, visit)?;
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            visit(&relative, &std::fs::read(&path)?);
        }
    }
    Ok(())
}

fn clear_worktree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == ".git" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Git keeps no empty directories; neither does the clone.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut current = file.parent();
    while let Some(dir) = current {
        if dir == root || !dir.starts_with(root) || std::fs::remove_dir(dir).is_err() {
            break;
        }
        current = dir.parent();
    }
}
/// The batch planned against the clone as it is, leaving out the changes
/// the clone refused (each fails alone, with the refusal's message).
fn plan_without(
    changes: &[Change],
    refused: &BTreeMap<usize, String>,
    files: &BTreeMap<String, Option<String>>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> state_batch::BatchPlan {
    let active: Vec<Change> = changes
        .iter()
        .enumerate()
        .map(|(index, change)| {
            if refused.contains_key(&index) {
                Change::PutFiles(BTreeMap::new())
            } else {
                change.clone()
            }
        })
        .collect();
    let mut plan = state_batch::plan(&active, &StoreContents { files, read });
    for (index, message) in refused {
        plan.results[*index] = Err(kratix_shared::Error::StorePath {
            message: message.clone(),
        });
    }
    plan
}
