//! A rendered pipeline pod planned for a container engine: what the kubelet
//! would give each container, and every reason it cannot run, found at once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::container_plan::{PipelineDirs, PullPolicy, plan_pipeline};
use super::{PlanProblem, Sources};
use crate::api::pipeline::parse_pipelines;
use crate::api::workflow::Workflow;
use crate::render::{AdapterImage, RenderRequest, render_workflow};

fn promise(containers: Value, volumes: Value) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Promise",
        "metadata": {"name": "redis"},
        "spec": {"workflows": {"promise": {"configure": [{
            "apiVersion": "platform.kratix.io/v1alpha1",
            "kind": "Pipeline",
            "metadata": {"name": "deps"},
            "spec": {"containers": containers, "volumes": volumes}
        }]}}}
    })
}

fn job(promise: &Value) -> k8s_openapi::api::batch::v1::Job {
    let values = promise["spec"]["workflows"]["promise"]["configure"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let pipelines = parse_pipelines(&values, "test").expect("pipelines parse");
    let rendered = render_workflow(&RenderRequest {
        promise,
        workflow: Workflow::PROMISE_CONFIGURE,
        pipelines: &pipelines,
        resource: None,
        config: None,
        adapter: &AdapterImage::default(),
        job_name_suffix: Some("abcde"),
    })
    .expect("renders");
    rendered[0].job.clone()
}

fn dirs() -> PipelineDirs {
    let root = PathBuf::from("/run");
    PipelineDirs {
        input: root.join("input"),
        output: root.join("output"),
        metadata: root.join("metadata"),
        volumes: root.join("volumes"),
    }
}

fn sources() -> Sources {
    let data = |pairs: &[(&str, &str)]| -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    };
    Sources {
        secrets: BTreeMap::from([("db".to_owned(), data(&[("password", "hunter2"), ("user", "app")]))]),
        config_maps: BTreeMap::from([(
            "settings".to_owned(),
            data(&[("LEVEL", "debug"), ("REGION", "eu")]),
        )]),
    }
}

#[test]
fn a_container_gets_what_the_kubelet_would_give_it() {
    let promise = promise(
        json!([{
            "name": "main", "image": "example/main:v1",
            "command": ["sh", "-c"], "args": ["echo $(GREETING) $(MISSING)"],
            "env": [
                {"name": "GREETING", "value": "hello-$(LEVEL)"},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "OPTIONAL", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "x", "optional": true}}},
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "PIPELINE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['kratix.io/pipeline-name']"}}},
                {"name": "MEMORY_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "REGION", "value": "us"}
            ],
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": ""}],
            "volumeMounts": [
                {"name": "creds", "mountPath": "/creds"},
                {"name": "scratch", "mountPath": "/scratch/one", "subPath": "one"},
                {"name": "scratch", "mountPath": "/scratch/mine", "subPathExpr": "$(REGION)/$(KRATIX_WORKFLOW_TYPE)"}
            ],
            "imagePullPolicy": "Never",
            "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
        }]),
        json!([
            {"name": "creds", "secret": {"secretName": "db", "items": [{"key": "password", "path": "db/password", "mode": 256}]}},
            {"name": "scratch", "emptyDir": {}}
        ]),
    );
    let plan = plan_pipeline(&job(&promise), "uid-1", &sources(), &dirs()).expect("plans");
    assert_eq!(plan.pipeline, "deps");
    let [main] = plan.containers.as_slice() else {
        panic!(
            "one user container, the Kratix ones left out: {:?}",
            plan.containers
        );
    };
    let env: BTreeMap<&str, (&str, bool)> = main
        .env
        .iter()
        .map(|v| (v.name.as_str(), (v.value.as_str(), v.secret)))
        .collect();
    assert_eq!(env["GREETING"], ("hello-debug", false), "references see envFrom");
    assert_eq!(env["PASSWORD"], ("hunter2", true));
    assert!(!env.contains_key("OPTIONAL"));
    assert_eq!(env["POD_NAMESPACE"].0, "kratix-platform-system");
    assert_eq!(env["PIPELINE"].0, "deps");
    assert_eq!(env["MEMORY_MI"].0, "256", "the rendered default limit");
    assert_eq!(env["REGION"].0, "us", "env wins over envFrom");
    assert_eq!(
        env["KRATIX_WORKFLOW_TYPE"].0, "promise",
        "the rendered KRATIX_ variables"
    );
    assert_eq!(
        main.args.as_deref(),
        Some(&["echo hello-debug $(MISSING)".to_owned()][..])
    );
    assert_eq!(main.pull, PullPolicy::Never);
    assert_eq!(main.security.user.as_deref(), Some("1000"));
    let mounts: BTreeMap<&str, (String, bool)> = main
        .mounts
        .iter()
        .map(|m| (m.container.as_str(), (m.host.display().to_string(), m.read_only)))
        .collect();
    assert_eq!(mounts["/kratix/input"], ("/run/input".to_owned(), true));
    assert_eq!(mounts["/kratix/output"], ("/run/output".to_owned(), false));
    assert_eq!(mounts["/kratix/metadata"], ("/run/metadata".to_owned(), false));
    assert_eq!(
        mounts["/creds"],
        ("/run/volumes/creds".to_owned(), true),
        "a Secret is read-only"
    );
    assert_eq!(
        mounts["/scratch/one"],
        ("/run/volumes/scratch/one".to_owned(), false)
    );
    assert_eq!(
        mounts["/scratch/mine"],
        ("/run/volumes/scratch/us/promise".to_owned(), false),
        "subPathExpr expanded with the container's variables"
    );
    let checked: Vec<_> = main
        .mounts
        .iter()
        .filter_map(|m| m.sub_path_of.as_deref())
        .collect();
    assert_eq!(
        checked,
        [std::path::Path::new("/run/volumes/scratch"); 2],
        "subPaths are checked against their volume when the container starts"
    );
    let creds = plan
        .volumes
        .iter()
        .find(|v| v.dir.ends_with("creds"))
        .expect("creds volume");
    assert_eq!(creds.files.len(), 1);
    assert!(creds.holds_secrets, "removed when the pipeline ends");
    let scratch = plan
        .volumes
        .iter()
        .find(|v| v.dir.ends_with("scratch"))
        .expect("scratch volume");
    assert!(!scratch.holds_secrets);
    assert_eq!(
        (creds.files[0].path.as_str(), creds.files[0].mode),
        ("db/password", 0o400)
    );
}

#[test]
fn every_missing_source_and_escape_is_named_before_anything_runs() {
    let promise = promise(
        json!([
            {"name": "first", "image": "example/first:v1",
             "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
                     {"name": "USER", "valueFrom": {"secretKeyRef": {"name": "db", "key": "login"}}}],
             "envFrom": [{"configMapRef": {"name": "absent"}}]},
            {"name": "second", "image": "example/second:v1",
             "volumeMounts": [{"name": "scratch", "mountPath": "/s", "subPath": "../../etc"},
                              {"name": "scratch", "mountPath": "/data:U"},
                              {"name": "scratch", "mountPath": "/t", "subPathExpr": "$(NAME)/../../.."}],
             "env": [{"name": "NAME", "value": "x"},
                     {"name": "DOCKER_HOST", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]},
            {"name": "third", "image": "example/third:v1",
             "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
             "volumeMounts": [{"name": "scratch", "mountPath": "/u", "subPathExpr": "users/$(PASSWORD)"},
                              {"name": "scratch", "mountPath": "/v", "subPathExpr": "$(KRATIX_WORKFLOW_TYPE)/x"}]}
        ]),
        json!([{"name": "scratch", "emptyDir": {}}, {"name": "data", "hostPath": {"path": "/var/data"}}]),
    );
    let problems = plan_pipeline(&job(&promise), "uid-1", &sources(), &dirs()).unwrap_err();
    let said: Vec<String> = problems.iter().map(PlanProblem::to_string).collect();
    let expect = |needle: &str| {
        assert!(
            said.iter().any(|s| s.contains(needle)),
            "{needle:?} not in {said:#?}"
        );
    };
    expect("pipeline deps, container first: env TOKEN: Secret api is not given; pass it as --secret api=DIR");
    expect(
        "pipeline deps, container first: env USER: Secret db has no key \"login\" (it has password, user)",
    );
    expect("pipeline deps, container first: envFrom[0]: ConfigMap absent is not given");
    expect(
        "pipeline deps, container second: volumeMounts[scratch at /s]: subPath \"../../etc\" leaves its volume",
    );
    expect("pipeline deps: volumes[data]: only emptyDir, secret, configMap and projected");
    expect("container second: volumeMounts[scratch at /data:U]: mountPath \"/data:U\" holds ':'");
    expect("container second: volumeMounts[scratch at /t]: subPathExpr \"$(NAME)/../../..\" is");
    expect("container second: env DOCKER_HOST: holds a Secret's value");
    expect(
        "container third: volumeMounts[scratch at /u]: subPathExpr \"users/$(PASSWORD)\" expands a variable from a Secret",
    );
    assert_eq!(said.len(), 9, "{said:#?}");
}

#[test]
fn a_secret_never_reaches_a_command_line_and_an_image_is_no_option() {
    let promise = promise(
        json!([{
            "name": "main", "image": "--volume=/:/host",
            "command": ["sh", "-c"], "args": ["connect --password=$(PASSWORD)"],
            "env": [
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "DSN", "value": "postgres://app:$(PASSWORD)@db"}
            ]
        }]),
        json!([]),
    );
    let problems = plan_pipeline(&job(&promise), "uid-1", &sources(), &dirs()).unwrap_err();
    let said: Vec<String> = problems.iter().map(PlanProblem::to_string).collect();
    assert!(
        said.iter().any(|s| s
            .contains("command/args: \"connect --password=$(PASSWORD)\" expands a variable from a Secret")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|s| s.contains("image: \"--volume=/:/host\" is not an image reference")),
        "{said:#?}"
    );

    let fine = promise_with_env();
    let plan = plan_pipeline(&job(&fine), "uid-1", &sources(), &dirs()).expect("plans");
    let dsn = plan.containers[0]
        .env
        .iter()
        .find(|v| v.name == "DSN")
        .expect("DSN");
    assert!(
        dsn.secret,
        "a value built from a Secret's is kept off the command line too"
    );
}

fn promise_with_env() -> Value {
    promise(
        json!([{
            "name": "main", "image": "example/main:v1",
            "env": [
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "DSN", "value": "postgres://app:$(PASSWORD)@db"}
            ]
        }]),
        json!([]),
    )
}

#[test]
fn privileged_capabilities_and_root_are_named_and_a_lone_group_is_kept_aside() {
    let plan_of = |security: Value| {
        let promise = promise(
            json!([{"name": "main", "image": "example/main:v1", "securityContext": security}]),
            json!([]),
        );
        plan_pipeline(&job(&promise), "uid", &sources(), &dirs())
            .expect("planned")
            .containers[0]
            .security
            .clone()
    };
    let elevated = plan_of(
        json!({"privileged": true, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}),
    );
    assert_eq!(
        elevated.elevated(),
        [
            ("securityContext.privileged", "true".to_owned()),
            (
                "securityContext.capabilities.add",
                "[NET_ADMIN, SYS_TIME]".to_owned()
            ),
            ("securityContext.runAsUser", "0 (root)".to_owned()),
        ]
    );
    let plain = plan_of(json!({"runAsUser": 1000, "runAsGroup": 0, "capabilities": {"drop": ["ALL"]}}));
    assert!(plain.elevated().is_empty(), "{:?}", plain.elevated());
    assert_eq!(plain.user.as_deref(), Some("1000:0"));
    let group_only = plan_of(json!({"runAsGroup": 2000}));
    assert_eq!(
        (group_only.user, group_only.group_without_user),
        (None, Some(2000))
    );
}
