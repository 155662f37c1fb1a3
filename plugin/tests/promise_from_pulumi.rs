//! `promise init --pulumi-schema`, run through the built binary on a package
//! schema this test writes (a component with typed inputs, a local type, an
//! enum, a secret and an Archive): a file baked into an image scaffold,
//! against golden trees in both layouts; a file left where it is, with the
//! warning; a URL served by a local HTTP server (whose requests are checked
//! for a token that must not be sent in the clear); and the errors for a
//! schema with several components, a bad Secret reference, an unreadable
//! source.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;

use common::{kratix_in, matches_golden, renders_its_example, spec_schema, text, validates, yaml};
use serde_json::json;

const SCHEMA: &str = r##"{
  "name": "dbs",
  "version": "1.2.0",
  "types": {
    "dbs:index:Network": {
      "type": "object",
      "description": "Where the database is reachable",
      "properties": {
        "subnetId": {"type": "string", "description": "The subnet"},
        "public": {"type": "boolean", "default": false}
      },
      "required": ["subnetId"]
    },
    "dbs:index:Tier": {
      "type": "string",
      "enum": [
        {"name": "Small", "value": "small"},
        {"name": "Large", "value": "large"}
      ]
    }
  },
  "resources": {
    "dbs:index:Database": {
      "isComponent": true,
      "description": "A database with its network",
      "inputProperties": {
        "name": {"type": "string", "description": "The database's name"},
        "size": {"type": "integer", "default": 10},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "network": {"$ref": "#/types/dbs:index:Network"},
        "tier": {"$ref": "#/types/dbs:index:Tier"},
        "adminPassword": {"type": "string", "secret": true},
        "initScripts": {"$ref": "pulumi.json#/Archive"}
      },
      "requiredInputs": ["name", "network"]
    }
  }
}
"##;

fn init(dir: &Path, source: &str, extra: &[&str]) -> Output {
    let base = [
        "promise",
        "init",
        "database",
        "--group",
        "platform.example.org",
        "--kind",
        "Database",
        "--pulumi-schema",
        source,
    ];
    let args: Vec<&str> = base.iter().chain(extra).copied().collect();
    kratix_in(dir, &args)
}

#[test]
fn a_schema_file_baked_into_an_image_becomes_a_promise_of_the_components_inputs() {
    let temp = tempfile::tempdir().expect("tempdir");
    std::fs::write(temp.path().join("schema.json"), SCHEMA).expect("write");
    let image = "registry.example/database-pipeline:v0.1.0";
    let output = init(
        temp.path(),
        "schema.json",
        &[
            "--image",
            image,
            "--stack-access-token-secret",
            "pulumi-api:access-token",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    for expected in [
        "component: dbs:index:Database",
        "schema.json: the API cannot check spec.adminPassword: `secret`",
        "schema.json: the API cannot check spec.initScripts: a Pulumi Archive",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
    validates(temp.path(), "database");
    let promise = yaml(&temp.path().join("database/promise.yaml"));
    let spec = spec_schema(&promise);
    assert_eq!(spec["required"], json!(["name", "network"]));
    assert_eq!(
        spec["properties"]["tier"],
        json!({"type": "string", "enum": ["small", "large"]})
    );
    assert_eq!(spec["properties"]["network"]["required"], json!(["subnetId"]));
    let containers = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"];
    assert_eq!(containers[0]["image"], image);
    assert_eq!(
        containers[0]["env"],
        json!([
            {"name": "PULUMI_COMPONENT_TOKEN", "value": "dbs:index:Database"},
            {"name": "PULUMI_SCHEMA_SOURCE", "value": "/pulumi/schema.json"}
        ])
    );
    assert_eq!(containers[1]["command"], json!(["/pulumi-stack-generator"]));
    assert_eq!(
        promise["spec"]["destinationSelectors"],
        json!([{"matchLabels": {"environment": "pulumi"}}])
    );
    let baked = temp
        .path()
        .join("database/workflows/resource/configure/instance-configure/pulumi-program-generator");
    assert_eq!(
        std::fs::read_to_string(baked.join("schema.json")).expect("baked"),
        SCHEMA
    );
    renders_its_example(temp.path(), "database");
    matches_golden(&temp.path().join("database"), "pulumi-schema");

    // The same, split.
    let split = temp.path().join("split");
    std::fs::create_dir_all(&split).expect("mkdir");
    std::fs::write(split.join("schema.yaml"), "resources:\n  dbs:index:Database:\n    isComponent: true\n    inputProperties:\n      name: {type: string}\n    requiredInputs: [name]\n").expect("write");
    let output = init(&split, "schema.yaml", &["--image", image, "--split"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(&split, "database");
    matches_golden(&split.join("database"), "pulumi-schema-yaml-split");
}

#[test]
fn a_schema_file_left_on_disk_is_named_as_unreachable() {
    let temp = tempfile::tempdir().expect("tempdir");
    std::fs::write(temp.path().join("schema.json"), SCHEMA).expect("write");
    let output = init(temp.path(), "schema.json", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(
            "PULUMI_SCHEMA_SOURCE is the local path schema.json: the pipeline cannot read it there"
        ),
        "{}",
        text(&output.stderr)
    );
    validates(temp.path(), "database");
    let readme = std::fs::read_to_string(temp.path().join("database/README.md")).expect("readme");
    assert!(readme.contains("the pipeline cannot read it there"), "{readme}");
}

/// Serves `body` with `status` to each of `count` requests on a local port;
/// each request's header lines are sent back over the channel.
fn serve(status: &'static str, body: &'static str, count: usize) -> (String, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut stream) = stream else { continue };
            let mut headers = Vec::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                headers.push(line.trim_end().to_owned());
            }
            let _ = sender.send(headers);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{address}/schema.json"), receiver)
}

fn init_with_env(dir: &Path, source: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let base = [
        "promise",
        "init",
        "database",
        "--group",
        "platform.example.org",
        "--kind",
        "Database",
        "--pulumi-schema",
        source,
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-kratix"));
    command.args(base.iter().chain(extra)).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("kubectl-kratix runs")
}

#[test]
fn a_schema_url_is_fetched_and_a_token_never_goes_in_the_clear() {
    let temp = tempfile::tempdir().expect("tempdir");
    let (url, requests) = serve("200 OK", SCHEMA, 1);
    let output = init_with_env(
        temp.path(),
        &url,
        &[],
        &[("PULUMI_ACCESS_TOKEN", "pul-secret"), ("NO_PROXY", "*")],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let headers = requests.recv().expect("a request");
    assert!(
        !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("authorization")),
        "{headers:?}"
    );
    assert!(text(&output.stderr).contains("PULUMI_ACCESS_TOKEN is set but not sent: the URL is plain http"));
    validates(temp.path(), "database");
    let promise = yaml(&temp.path().join("database/promise.yaml"));
    let env = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0]["env"];
    assert_eq!(env[1], json!({"name": "PULUMI_SCHEMA_SOURCE", "value": url}));

    // The pipeline would send its token in the clear: refused before any fetch.
    let output = init(
        temp.path(),
        &url,
        &["--schema-bearer-token-secret", "schema-auth:token", "--force"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("would send the token in the clear"),
        "{}",
        text(&output.stderr)
    );

    let (missing, _requests) = serve("404 Not Found", "", 1);
    let output = init_with_env(temp.path(), &missing, &["--force"], &[("NO_PROXY", "*")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("the server answered 404 Not Found; check the URL"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn schemas_that_do_not_say_which_component_or_cannot_be_read_are_named() {
    let temp = tempfile::tempdir().expect("tempdir");
    let two = SCHEMA.replace(
        "\"resources\": {",
        "\"resources\": {\n    \"dbs:index:Cache\": {\"isComponent\": true, \"inputProperties\": {\"size\": {\"type\": \"integer\"}}},",
    );
    std::fs::write(temp.path().join("two.json"), two).expect("write");
    let error = |source: &str, extra: &[&str]| {
        let output = init(temp.path(), source, extra);
        assert_eq!(output.status.code(), Some(1), "{source} {extra:?}");
        text(&output.stderr)
    };
    assert!(error("two.json", &[]).contains(
        "two.json: declares several components (dbs:index:Cache, dbs:index:Database): choose one with --component"
    ));
    let output = init(temp.path(), "two.json", &["--component", "dbs:index:Cache"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        error("two.json", &["--component", "dbs:index:Queue", "--force"])
            .contains("has no component \"dbs:index:Queue\"")
    );
    assert!(
        error("two.json", &["--stack-access-token-secret", "no-key", "--force"])
            .contains("--stack-access-token-secret: \"no-key\" is not SECRET:KEY")
    );
    assert!(
        error(
            "two.json",
            &["--schema-bearer-token-secret", "auth:token", "--force"]
        )
        .contains("the pipeline fetches no schema with it")
    );
    assert!(error("file:///etc/passwd", &[]).contains("file:// is not read"));
    assert!(error("absent.json", &[]).contains("--pulumi-schema absent.json: no such file"));
    std::fs::write(temp.path().join("broken.json"), "{ not: [ json").expect("write");
    assert!(error("broken.json", &[]).contains("is neither JSON"));
}
