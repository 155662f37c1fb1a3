//! A real S3-compatible server on loopback for the bucket state-store tests:
//! `s3s-fs`, which keeps each bucket as a directory and checks every request's
//! SigV4 signature against its one access key. It is built from the crate
//! registry on first use (pinned: later versions need a newer Rust) into the
//! platform's cache, and stopped when dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Result, StepContext, fail};
use crate::platform::processes::free_port;

pub const ACCESS_KEY: &str = "kratix-access";
pub const SECRET_KEY: &str = "kratix-bucket-secret";
const VERSION: &str = "0.14.1";

pub struct S3Server {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

/// The `s3s-fs` binary, built when missing.
fn binary() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    let root = home
        .join(".cache/kubectl-kratix-testenv")
        .join(format!("s3s-fs-{VERSION}"));
    let binary = root.join("bin/s3s-fs");
    if binary.is_file() {
        return Ok(binary);
    }
    // Tests starting in parallel on a fresh machine build it once, one after another.
    std::fs::create_dir_all(&root).step(format!("creating {}", root.display()))?;
    let lock = std::fs::File::create(root.join("build.lock")).step("opening the s3s-fs build lock")?;
    lock.lock().step("locking the s3s-fs build")?;
    if binary.is_file() {
        return Ok(binary);
    }
    let step = format!("building s3s-fs {VERSION} (the S3 test server, once, a few minutes)");
    eprintln!("s3_server: {step}");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "install",
            "--quiet",
            "--locked",
            "s3s-fs",
            "--version",
            VERSION,
            "--features",
            "binary",
            "--root",
        ])
        .arg(&root)
        .stdin(Stdio::null())
        .status()
        .step(&step)?;
    if !status.success() || !binary.is_file() {
        return Err(fail(&step, "cargo install failed"));
    }
    Ok(binary)
}

impl S3Server {
    pub fn start() -> Result<S3Server> {
        let binary = binary()?;
        let dir = tempfile::Builder::new()
            .prefix("kratix-s3-server-")
            .tempdir()
            .step("creating the S3 server's directory")?;
        std::fs::create_dir_all(dir.path().join("data")).step("creating the S3 data directory")?;
        let port = free_port()?;
        let log =
            std::fs::File::create(dir.path().join("s3s-fs.log")).step("creating the S3 server's log")?;
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().step("opening the S3 server's log")?)
            .stderr(log)
            .spawn()
            .step("starting s3s-fs")?;
        let server = S3Server { dir, child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(fail(
                    "starting s3s-fs",
                    format!(
                        "nothing listens on port {port}; see {}",
                        server.dir.path().join("s3s-fs.log").display()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// `127.0.0.1:<port>`, as a BucketStateStore's `endpoint` (with `insecure: true`).
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_bucket(&self, name: &str) -> Result<()> {
        std::fs::create_dir_all(self.bucket_dir(name)).step(format!("creating bucket {name}"))
    }

    fn bucket_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("data").join(name)
    }

    /// Where the server keeps object `key` of bucket `name`.
    pub fn object_path(&self, name: &str, key: &str) -> PathBuf {
        self.bucket_dir(name).join(key)
    }

    /// Every object of bucket `name`: key → content (the server's own files,
    /// which it keeps beside the objects with a leading dot, are left out).
    pub fn objects(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let mut objects = BTreeMap::new();
        let root = self.bucket_dir(name);
        collect(&root, &root, &mut objects).step(format!("reading bucket {name}"))?;
        Ok(objects)
    }
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if entry.file_type()?.is_dir() {
            collect(root, &path, out)?;
        } else if !entry.file_name().to_string_lossy().starts_with(".s3s") {
            out.insert(relative, std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    Ok(())
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
