//! A real Git server on loopback for the state-store tests: bare repositories
//! served over HTTP with basic auth (Debian's lighttpd running `git http-backend`
//! as CGI) and over SSH (Debian's openssh-server with a generated host key and a
//! client key). Both are installed on first use and stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Result, StepContext, fail};
use crate::platform::ensure_commands;
use crate::platform::processes::free_port;

pub const USERNAME: &str = "kratix";
pub const PASSWORD: &str = "state-store-secret";

pub struct GitServer {
    dir: PathBuf,
    /// Removed with the server, unless the server lives in a directory given to it.
    _temp: Option<tempfile::TempDir>,
    /// Left running when dropped ([`GitServer::detach`]).
    detached: bool,
    http: Child,
    ssh: Child,
    pub http_port: u16,
    pub ssh_port: u16,
}

impl GitServer {
    /// Installs lighttpd and openssh-server when missing, then starts both in a
    /// temporary directory.
    pub fn start() -> Result<GitServer> {
        let temp = tempfile::Builder::new()
            .prefix("kratix-git-server-")
            .tempdir()
            .step("creating the Git server's directory")?;
        let dir = temp.path().to_path_buf();
        GitServer::start_at(dir, Some(temp))
    }

    /// The same in `dir` (emptied first), for a server that outlives its starter.
    pub fn start_in(dir: &Path) -> Result<GitServer> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).step(format!("creating {}", dir.display()))?;
        GitServer::start_at(dir.to_path_buf(), None)
    }

    fn start_at(dir: PathBuf, temp: Option<tempfile::TempDir>) -> Result<GitServer> {
        ensure_commands(&[("lighttpd", "lighttpd"), ("sshd", "openssh-server")])?;
        let root = dir.as_path();
        std::fs::create_dir_all(root.join("repos")).step("creating the repository directory")?;
        let http_port = free_port()?;
        let ssh_port = free_port()?;
        let http = start_http(root, http_port)?;
        let ssh = match start_ssh(root, ssh_port) {
            Ok(ssh) => ssh,
            Err(error) => {
                let mut http = http;
                let _ = http.kill();
                let _ = http.wait();
                return Err(error);
            }
        };
        let server = GitServer {
            dir,
            _temp: temp,
            detached: false,
            http,
            ssh,
            http_port,
            ssh_port,
        };
        server.wait_for_port(http_port, "the Git HTTP server")?;
        server.wait_for_port(ssh_port, "the Git SSH server")?;
        Ok(server)
    }

    /// Leaves both servers running after this value is gone; their process ids.
    pub fn detach(mut self) -> [u32; 2] {
        self.detached = true;
        [self.http.id(), self.ssh.id()]
    }

    fn wait_for_port(&self, port: u16, what: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(fail(
            format!("starting {what}"),
            format!(
                "nothing listens on port {port} after 20 s; see the logs in {}",
                self.dir.display()
            ),
        ))
    }

    /// Stops the SSH server (the port stays free for [`GitServer::start_ssh_again`]).
    pub fn stop_ssh(&mut self) {
        let _ = self.ssh.kill();
        let _ = self.ssh.wait();
    }

    /// Starts the SSH server again on its port, with the same keys.
    pub fn start_ssh_again(&mut self) -> Result<()> {
        self.ssh = spawn_sshd(&self.dir)?;
        self.wait_for_port(self.ssh_port, "the Git SSH server")
    }

    /// Stops the HTTP server.
    pub fn stop_http(&mut self) {
        let _ = self.http.kill();
        let _ = self.http.wait();
    }

    /// Starts the HTTP server again on its port.
    pub fn start_http_again(&mut self) -> Result<()> {
        self.http = spawn_lighttpd(&self.dir)?;
        self.wait_for_port(self.http_port, "the Git HTTP server")
    }

    /// Every file on `branch` of repository `name`: path → content.
    pub fn files(&self, name: &str, branch: &str) -> Result<std::collections::BTreeMap<String, String>> {
        let repo = self.repo_path(name);
        let step = format!("reading {branch} of repository {name}");
        let listing = Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args(["ls-tree", "-r", "--name-only", branch])
            .output()
            .step(&step)?;
        let mut files = std::collections::BTreeMap::new();
        if !listing.status.success() {
            // No such branch yet: nothing written.
            return Ok(files);
        }
        for path in String::from_utf8_lossy(&listing.stdout).lines() {
            let shown = Command::new("git")
                .arg("--git-dir")
                .arg(&repo)
                .args(["show", &format!("{branch}:{path}")])
                .output()
                .step(&step)?;
            files.insert(
                path.to_owned(),
                String::from_utf8_lossy(&shown.stdout).into_owned(),
            );
        }
        Ok(files)
    }

    /// The commit `branch` of repository `name` is at, and how many it has.
    pub fn head(&self, name: &str, branch: &str) -> Result<(String, usize)> {
        let repo = self.repo_path(name);
        let step = format!("reading the head of {branch} in repository {name}");
        let run = |args: &[&str]| -> Result<String> {
            let output = Command::new("git")
                .arg("--git-dir")
                .arg(&repo)
                .args(args)
                .output()
                .step(&step)?;
            if !output.status.success() {
                return Err(fail(
                    &step,
                    String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                ));
            }
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let sha = run(&["rev-parse", branch])?;
        let count = run(&["rev-list", "--count", branch])?;
        Ok((sha, count.parse().unwrap_or(0)))
    }

    /// The server's directory (logs, keys, repositories).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the bare repository `name` with `main` as its default branch.
    pub fn create_repo(&self, name: &str) -> Result<()> {
        let path = self.repo_path(name);
        let status = Command::new("git")
            .args(["init", "--quiet", "--bare", "--initial-branch=main"])
            .arg(&path)
            .status()
            .step(format!("creating repository {name}"))?;
        if !status.success() {
            return Err(fail(format!("creating repository {name}"), "git init failed"));
        }
        Ok(())
    }

    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.dir.join("repos").join(format!("{name}.git"))
    }

    /// `http://127.0.0.1:<port>/git/<name>.git` (basic auth: [`USERNAME`], [`PASSWORD`]).
    pub fn http_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/git/{name}.git", self.http_port)
    }

    /// `ssh://root@127.0.0.1:<port>/<dir>/repos/<name>.git`.
    pub fn ssh_url(&self, name: &str) -> String {
        format!(
            "ssh://root@127.0.0.1:{}{}",
            self.ssh_port,
            self.repo_path(name).display()
        )
    }

    /// The client's private key (OpenSSH format), as a Secret's `sshPrivateKey` holds it.
    pub fn client_key(&self) -> Result<String> {
        std::fs::read_to_string(self.dir.join("client_key")).step("reading the client key")
    }

    /// A `known_hosts` line for the server, as a Secret's `knownHosts` holds it.
    pub fn known_hosts(&self) -> Result<String> {
        let public = std::fs::read_to_string(self.dir.join("host_key.pub")).step("reading the host key")?;
        let mut fields = public.split_whitespace();
        let (kind, key) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        Ok(format!("[127.0.0.1]:{} {kind} {key}\n", self.ssh_port))
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        for child in [&mut self.http, &mut self.ssh] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_file(root: &Path, name: &str) -> Result<std::fs::File> {
    std::fs::File::create(root.join(name)).step(format!("creating {name}"))
}

fn start_http(root: &Path, port: u16) -> Result<Child> {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .step("finding git's exec path")?;
    let backend = PathBuf::from(String::from_utf8_lossy(&exec_path.stdout).trim()).join("git-http-backend");
    std::fs::create_dir_all(root.join("www")).step("creating the web root")?;
    std::fs::write(root.join("users"), format!("{USERNAME}:{PASSWORD}\n")).step("writing the users file")?;
    let config = format!(
        r#"server.modules = ("mod_auth", "mod_authn_file", "mod_cgi", "mod_alias", "mod_setenv")
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{root}/www"
server.errorlog = "{root}/lighttpd-error.log"
server.pid-file = "{root}/lighttpd.pid"
auth.backend = "plain"
auth.backend.plain.userfile = "{root}/users"
alias.url = ("/git" => "{backend}")
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "{root}/repos", "GIT_HTTP_EXPORT_ALL" => "1")
  auth.require = ("/" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
}}
"#,
        root = root.display(),
        backend = backend.display(),
    );
    let config_path = root.join("lighttpd.conf");
    std::fs::write(&config_path, config).step("writing lighttpd.conf")?;
    spawn_lighttpd(root)
}

fn spawn_lighttpd(root: &Path) -> Result<Child> {
    let config_path = root.join("lighttpd.conf");
    Command::new("lighttpd")
        .arg("-D")
        .arg("-f")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(log_file(root, "lighttpd.log")?)
        .stderr(log_file(root, "lighttpd.stderr")?)
        .spawn()
        .step("starting lighttpd")
}

fn keygen(path: &Path) -> Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .step("generating an SSH key")?;
    if status.success() {
        Ok(())
    } else {
        Err(fail("generating an SSH key", "ssh-keygen failed"))
    }
}

fn start_ssh(root: &Path, port: u16) -> Result<Child> {
    keygen(&root.join("host_key"))?;
    keygen(&root.join("client_key"))?;
    std::fs::copy(root.join("client_key.pub"), root.join("authorized_keys"))
        .step("authorising the client key")?;
    // sshd's privilege-separation directory.
    std::fs::create_dir_all("/run/sshd").step("creating /run/sshd")?;
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\nPidFile {root}/sshd.pid\n\
         AuthorizedKeysFile {root}/authorized_keys\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n",
        root = root.display()
    );
    let config_path = root.join("sshd_config");
    std::fs::write(&config_path, config).step("writing sshd_config")?;
    spawn_sshd(root)
}

fn spawn_sshd(root: &Path) -> Result<Child> {
    let config_path = root.join("sshd_config");
    // sshd re-executes itself, so it must be started by its absolute path.
    Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(log_file(root, "sshd.log")?)
        .stderr(log_file(root, "sshd.stderr")?)
        .spawn()
        .step("starting sshd")
}
