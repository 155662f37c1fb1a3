//! Local images on a busybox-static base (no registry is reachable here):
//! from a directory's files, or from binaries with the libraries they link.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Result, StepContext, fail};

/// What goes into an image.
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    /// `localhost/NAME:TAG` (a bare `NAME:TAG` gets the `localhost/` prefix).
    pub reference: String,
    /// Files copied to the image's root.
    pub dir: Option<PathBuf>,
    /// Binaries copied to `/bin` (symlinks resolved), with their shared libraries.
    pub binaries: Vec<PathBuf>,
    /// Numeric user the image runs as; `None` runs as root.
    pub user: Option<u32>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    /// Single host files copied to these paths in the image.
    pub files: Vec<(PathBuf, String)>,
    /// Symbolic links (path in the image, target).
    pub links: Vec<(String, String)>,
}

/// Adds what the agent's state-store writers need: `git` (with its HTTP transport,
/// found through `GIT_EXEC_PATH=/bin`), the OpenSSH client and the CA
/// certificates (for HTTPS to Git hosts and buckets), from this machine.
pub fn add_git_tools(spec: &mut ImageSpec) -> Result<()> {
    let step = "adding git and ssh to the image";
    let git = which("git").ok_or_else(|| fail(step, "git is not installed (apt-get install git)"))?;
    let ssh =
        which("ssh").ok_or_else(|| fail(step, "ssh is not installed (apt-get install openssh-client)"))?;
    let exec_path = Command::new(&git).arg("--exec-path").output().step(step)?;
    let exec_path = PathBuf::from(String::from_utf8_lossy(&exec_path.stdout).trim());
    spec.binaries.extend([git, ssh]);
    for helper in ["git-remote-http", "git-remote-https"] {
        let path = exec_path.join(helper);
        if !path.is_file() {
            return Err(fail(
                step,
                format!("{} is missing; git cannot fetch over HTTP", path.display()),
            ));
        }
        spec.binaries.push(path);
    }
    spec.env.push(("GIT_EXEC_PATH".to_owned(), "/bin".to_owned()));
    let bundle = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    if !bundle.is_file() {
        return Err(fail(
            step,
            "/etc/ssl/certs/ca-certificates.crt is missing (apt-get install ca-certificates)",
        ));
    }
    spec.files
        .push((bundle, "/etc/ssl/certs/ca-certificates.crt".to_owned()));
    Ok(())
}

/// The fully qualified reference podman stores the image under.
pub fn qualified(reference: &str) -> String {
    if reference.contains('/') {
        reference.to_owned()
    } else {
        format!("localhost/{reference}")
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Shared libraries a binary needs, as `ldd` lists them (none for static binaries).
fn libraries(binary: &Path) -> Vec<PathBuf> {
    let Ok(output) = Command::new("ldd").arg(binary).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .find(|word| word.starts_with('/'))
                .map(PathBuf::from)
        })
        .collect()
}

/// The label holding a digest of everything that went into one of these images,
/// so an unchanged image is kept rather than imported again.
pub const CONTENT_LABEL: &str = "io.kratix.e2e.content";

/// Builds the image with `podman import` unless one with the same content is
/// there already; returns its reference. The image it replaces is removed: each
/// suite imports the agent afresh, and 150 MB left behind per suite filled CI's disk.
pub fn build(spec: &ImageSpec, containers_conf: &Path) -> Result<String> {
    let reference = qualified(&spec.reference);
    let step = format!("building image {reference}");
    let temp = tempfile::tempdir().step(&step)?;
    let root = temp.path();
    stage_root(spec, root, &step)?;
    let mut changes = image_changes(spec).step(&step)?;
    let digest = content_digest(root, &changes).step(format!("{step}: hashing its files"))?;
    let previous = image_id(&reference, containers_conf);
    if previous.is_some() && content_label(&reference, containers_conf).as_deref() == Some(&digest) {
        return Ok(reference);
    }
    changes.push(format!("LABEL {CONTENT_LABEL}={digest}"));
    let tarball = temp.path().with_extension("tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(root)
        .arg("-cf")
        .arg(&tarball)
        .arg(".")
        .status()
        .step(&step)?;
    if !status.success() {
        return Err(fail(&step, "tar failed"));
    }
    let mut import = podman(containers_conf);
    import.arg("import").arg("--quiet");
    for change in &changes {
        import.arg("--change").arg(change);
    }
    let output = import.arg(&tarball).arg(&reference).output().step(&step)?;
    let _ = std::fs::remove_file(&tarball);
    if !output.status.success() {
        return Err(fail(
            &step,
            format!(
                "podman import: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    if let Some(previous) = previous.filter(|id| image_id(&reference, containers_conf).as_ref() != Some(id)) {
        // Still in use by a container, it stays: `tests/run` prunes what is left.
        let _ = podman(containers_conf).args(["image", "rm", &previous]).output();
    }
    Ok(reference)
}

fn podman(containers_conf: &Path) -> Command {
    let mut command = Command::new("podman");
    command.env("CONTAINERS_CONF", containers_conf);
    command
}

fn inspect(reference: &str, format: &str, containers_conf: &Path) -> Option<String> {
    let output = podman(containers_conf)
        .args(["image", "inspect", "--format", format, reference])
        .output()
        .ok()?;
    let value = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !value.is_empty()).then_some(value)
}

fn image_id(reference: &str, containers_conf: &Path) -> Option<String> {
    inspect(reference, "{{.Id}}", containers_conf)
}

fn content_label(reference: &str, containers_conf: &Path) -> Option<String> {
    inspect(
        reference,
        &format!("{{{{index .Labels \"{CONTENT_LABEL}\"}}}}"),
        containers_conf,
    )
}

/// Lays out the image's files under `root`: busybox and its applets, users,
/// the binaries with their libraries, a directory's files and single files.
fn stage_root(spec: &ImageSpec, root: &Path, step: &str) -> Result<()> {
    for dir in ["bin", "etc", "tmp", "usr/bin"] {
        std::fs::create_dir_all(root.join(dir)).step(step)?;
    }
    let busybox = which("busybox")
        .ok_or_else(|| fail(step, "busybox is not installed (apt-get install busybox-static)"))?;
    std::fs::copy(&busybox, root.join("bin/busybox")).step(step)?;
    let applets = Command::new(&busybox).arg("--list").output().step(step)?;
    for applet in String::from_utf8_lossy(&applets.stdout)
        .lines()
        .filter(|a| *a != "busybox")
    {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).step(step)?;
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
    if let Some(uid) = spec.user.filter(|u| *u != 0 && *u != 65534) {
        passwd.push_str(&format!("user{uid}:x:{uid}:{uid}::/tmp:/bin/sh\n"));
    }
    std::fs::write(root.join("etc/passwd"), passwd).step(step)?;
    std::fs::write(root.join("etc/group"), "root:x:0:\nnobody:x:65534:\n").step(step)?;
    for binary in &spec.binaries {
        let real = std::fs::canonicalize(binary).step(format!("{step}: {}", binary.display()))?;
        let name = binary
            .file_name()
            .ok_or_else(|| fail(step, format!("{} has no file name", binary.display())))?;
        let target = root.join("bin").join(name);
        // A busybox applet of that name is a link: replace it, never write through it.
        let _ = std::fs::remove_file(&target);
        std::fs::copy(&real, &target).step(format!("{step}: copying {}", real.display()))?;
        for library in libraries(&real) {
            let target = root.join(library.strip_prefix("/").unwrap_or(&library));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).step(step)?;
            }
            std::fs::copy(&library, &target).step(format!("{step}: copying {}", library.display()))?;
        }
    }
    if let Some(dir) = &spec.dir {
        copy_tree(dir, root).step(format!("{step}: copying {}", dir.display()))?;
    }
    for (inside, target) in &spec.links {
        let path = root.join(inside.trim_start_matches('/'));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).step(step)?;
        }
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(target, &path).step(format!("{step}: linking {inside}"))?;
    }
    for (host, inside) in &spec.files {
        let target = root.join(inside.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).step(step)?;
        }
        std::fs::copy(host, &target).step(format!("{step}: copying {}", host.display()))?;
    }
    Ok(())
}

/// The Dockerfile-style instructions `podman import --change` applies.
fn image_changes(spec: &ImageSpec) -> serde_json::Result<Vec<String>> {
    let mut changes = vec!["ENV PATH=/bin:/usr/bin:/usr/local/bin".to_owned()];
    for (key, value) in &spec.env {
        changes.push(format!("ENV {key}={value}"));
    }
    if let Some(uid) = spec.user {
        changes.push(format!("USER {uid}"));
    }
    if let Some(entrypoint) = &spec.entrypoint {
        changes.push(format!("ENTRYPOINT {}", serde_json::to_string(entrypoint)?));
    }
    changes.push(format!(
        "CMD {}",
        serde_json::to_string(spec.cmd.as_deref().unwrap_or(&["/bin/sh".to_owned()]))?
    ));
    Ok(changes)
}

fn hash_file(path: &Path, hasher: &mut sha2::Sha256) -> std::io::Result<()> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(()),
            read => hasher.update(&buffer[..read]),
        }
    }
}

/// SHA-256 over every path under `root` (sorted) with its kind, mode and content
/// or link target, then the instructions: equal digests mean equal images.
fn content_digest(root: &Path, changes: &[String]) -> std::io::Result<String> {
    use sha2::Digest as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut hasher = sha2::Sha256::new();
    let mut pending = vec![root.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if std::fs::symlink_metadata(&path)?.is_dir() {
                pending.push(path.clone());
            }
            files.push(path);
        }
    }
    files.sort();
    for path in files {
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let meta = std::fs::symlink_metadata(&path)?;
        hasher.update(relative.as_os_str().as_encoded_bytes());
        hasher.update(meta.permissions().mode().to_le_bytes());
        if meta.file_type().is_symlink() {
            hasher.update(std::fs::read_link(&path)?.as_os_str().as_encoded_bytes());
        } else if meta.is_file() {
            hasher.update(meta.len().to_le_bytes());
            hash_file(&path, &mut hasher)?;
        }
        hasher.update([0]);
    }
    for change in changes {
        hasher.update(change.as_bytes());
        hasher.update([0]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The first `command` on PATH.
pub(crate) fn which(command: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(command))
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_follows_content_modes_links_and_instructions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/tool"), "one").unwrap();
        std::os::unix::fs::symlink("tool", root.join("bin/alias")).unwrap();
        let changes = vec!["USER 65534".to_owned()];
        let first = content_digest(root, &changes).unwrap();
        assert_eq!(first, content_digest(root, &changes).unwrap(), "stable");
        assert_ne!(first, content_digest(root, &["USER 0".to_owned()]).unwrap());
        std::fs::set_permissions(root.join("bin/tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let executable = content_digest(root, &changes).unwrap();
        assert_ne!(first, executable, "mode");
        std::fs::write(root.join("bin/tool"), "two").unwrap();
        let edited = content_digest(root, &changes).unwrap();
        assert_ne!(executable, edited, "content");
        std::fs::remove_file(root.join("bin/alias")).unwrap();
        std::os::unix::fs::symlink("busybox", root.join("bin/alias")).unwrap();
        assert_ne!(edited, content_digest(root, &changes).unwrap(), "link target");
    }

    #[test]
    fn bare_names_live_under_localhost() {
        assert_eq!(qualified("kratix-agent:v1"), "localhost/kratix-agent:v1");
        assert_eq!(qualified("registry.local/x:1"), "registry.local/x:1");
    }
}
