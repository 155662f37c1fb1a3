//! One planned container as a `podman run` or `docker run` command line (the
//! two take the same flags used here), each option and its value one word
//! (`--cap-add=X`), so no value is ever read as an option. Values from Secrets never appear on it:
//! the command names them (`-e NAME`) and the engine reads them from its own
//! environment, so they stay out of `ps` and of shell history.

use super::container_plan::{ContainerPlan, PullPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Podman,
    Docker,
}

impl Engine {
    pub fn program(self) -> &'static str {
        match self {
            Engine::Podman => "podman",
            Engine::Docker => "docker",
        }
    }
}

/// A resource limit the container is started with: `nofile`, `nproc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
}

/// How one container is started, besides its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// The engine's name for the container (to stop it, and in its messages).
    pub container_name: String,
    /// Limits to start it with: podman runs containers as the caller, who may
    /// not raise a limit above their own (without CAP_SYS_RESOURCE the
    /// engine's defaults fail to apply), so the caller's own are passed.
    pub ulimits: Vec<Ulimit>,
}

/// The engine's arguments, and the variables to add to its environment (the
/// Secret values its `-e NAME` arguments name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineCommand {
    pub program: &'static str,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

pub fn run_command(engine: Engine, plan: &ContainerPlan, options: &RunOptions) -> EngineCommand {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--rm".into(),
        format!("--name={}", options.container_name),
    ];
    args.push(
        match plan.pull {
            PullPolicy::Always => "--pull=always",
            PullPolicy::Missing => "--pull=missing",
            PullPolicy::Never => "--pull=never",
        }
        .into(),
    );
    for limit in &options.ulimits {
        args.push(format!("--ulimit={}={}:{}", limit.name, limit.soft, limit.hard));
    }
    security_args(plan, &mut args);
    if let Some(dir) = &plan.working_dir {
        args.push(format!("--workdir={dir}"));
    }
    for mount in &plan.mounts {
        // The planner refused any path holding ':', the separator here.
        let mut spec = format!("--volume={}:{}", mount.host.display(), mount.container);
        if mount.read_only {
            spec.push_str(":ro");
        }
        args.push(spec);
    }
    let mut env = Vec::new();
    for var in &plan.env {
        if var.secret {
            args.push(format!("--env={}", var.name));
            env.push((var.name.clone(), var.value.clone()));
        } else {
            args.push(format!("--env={}={}", var.name, var.value));
        }
    }
    // Kubernetes' command replaces the image's entrypoint and drops its
    // arguments; an engine takes one entrypoint word, the rest follow the image.
    let mut trailing = Vec::new();
    if let Some((first, rest)) = plan.command.as_deref().and_then(<[String]>::split_first) {
        args.push(format!("--entrypoint={first}"));
        trailing.extend(rest.iter().cloned());
    }
    trailing.extend(plan.args.iter().flatten().cloned());
    // Nothing after this is read as an engine option, whatever the image says.
    args.push("--".into());
    args.push(plan.image.clone());
    args.extend(trailing);
    EngineCommand {
        program: engine.program(),
        args,
        env,
    }
}

fn security_args(plan: &ContainerPlan, args: &mut Vec<String>) {
    let security = &plan.security;
    if let Some(user) = &security.user {
        args.push(format!("--user={user}"));
    }
    if security.privileged {
        args.push("--privileged".into());
    }
    if security.read_only_root {
        args.push("--read-only".into());
    }
    if security.no_new_privileges {
        args.push("--security-opt=no-new-privileges".into());
    }
    for capability in &security.cap_drop {
        args.push(format!("--cap-drop={capability}"));
    }
    for capability in &security.cap_add {
        args.push(format!("--cap-add={capability}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_run::container_plan::Security;
    use crate::local_run::env_resolution::ResolvedVar;
    use crate::local_run::pod_volumes::Mount;

    fn plan() -> ContainerPlan {
        ContainerPlan {
            pipeline: "instance".into(),
            name: "main".into(),
            image: "example/main:v1".into(),
            command: Some(vec!["sh".into(), "-c".into()]),
            args: Some(vec!["echo hi".into()]),
            env: vec![
                ResolvedVar {
                    name: "KRATIX_PROMISE_NAME".into(),
                    value: "redis".into(),
                    secret: false,
                },
                ResolvedVar {
                    name: "PASSWORD".into(),
                    value: "hunter2".into(),
                    secret: true,
                },
            ],
            mounts: vec![Mount {
                host: "/tmp/run/instance/input".into(),
                container: "/kratix/input".into(),
                read_only: true,
                sub_path_of: None,
            }],
            working_dir: None,
            security: Security {
                user: Some("1000:1000".into()),
                no_new_privileges: true,
                cap_drop: vec!["ALL".into()],
                ..Security::default()
            },
            pull: PullPolicy::Missing,
        }
    }

    #[test]
    fn a_plan_becomes_one_command_line_with_no_secret_on_it() {
        let options = RunOptions {
            container_name: "kratix-run-instance-main-1".into(),
            ulimits: vec![Ulimit {
                name: "nofile",
                soft: 1024,
                hard: 4096,
            }],
        };
        let command = run_command(Engine::Docker, &plan(), &options);
        assert_eq!(command.program, "docker");
        assert_eq!(
            command.args.join(" "),
            "run --rm --name=kratix-run-instance-main-1 --pull=missing --ulimit=nofile=1024:4096 \
             --user=1000:1000 --security-opt=no-new-privileges --cap-drop=ALL \
             --volume=/tmp/run/instance/input:/kratix/input:ro \
             --env=KRATIX_PROMISE_NAME=redis --env=PASSWORD \
             --entrypoint=sh -- example/main:v1 -c echo hi"
        );
        assert!(!command.args.iter().any(|a| a.contains("hunter2")));
        assert_eq!(command.env, vec![("PASSWORD".to_owned(), "hunter2".to_owned())]);
    }

    #[test]
    fn args_alone_keep_the_images_entrypoint() {
        let mut plan = plan();
        plan.command = None;
        let command = run_command(
            Engine::Podman,
            &plan,
            &RunOptions {
                container_name: "c".into(),
                ulimits: Vec::new(),
            },
        );
        assert_eq!(command.program, "podman");
        assert!(!command.args.iter().any(|a| a.starts_with("--entrypoint")));
        assert_eq!(
            &command.args[command.args.len() - 2..],
            ["example/main:v1", "echo hi"]
        );
    }
}
