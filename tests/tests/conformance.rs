//! Every Kratix Marketplace Promise with an API installs it, as the agent will
//! (`resource_crd`), on the genuine API server, and it becomes Established.
//! Skips, saying so, when the corpus beside the project is absent.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::authoring::source;
use kratix_shared::render::resource_crd::resource_crd;
use kratix_shared::validate::validate_promise;
use kratix_tests::suites::support::{Platform, wait_for};
use kube::api::{Api, PostParams};

#[tokio::test]
async fn every_marketplace_api_installs_as_an_established_crd() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/marketplace");
    if !corpus.is_dir() {
        eprintln!("skipped: no conformance corpus at {}", corpus.display());
        return;
    }
    let platform = Platform::get(Path::new(env!("CARGO_BIN_EXE_testenv")));
    let client = platform.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let mut dirs: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    let mut installed = Vec::new();
    for dir in dirs.iter().filter(|d| d.join("promise.yaml").is_file()) {
        let loaded = source::load(dir).expect("loads");
        let promise = &loaded.promises[0];
        let Some(api) = validate_promise(&promise.value).resource_api else {
            continue;
        };
        let crd = resource_crd(promise.name(), &api);
        let name = crd.metadata.name.clone().expect("name");
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => panic!("{}: the API server refused {name}: {error}", dir.display()),
        }
        installed.push(name);
    }
    assert!(installed.len() >= 26, "only {} APIs installed", installed.len());
    for name in &installed {
        wait_for(
            &format!("{name} to be Established"),
            Duration::from_secs(30),
            || async {
                let crd = crds.get(name).await.map_err(|e| e.to_string())?;
                let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
                if conditions
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                {
                    Ok(())
                } else {
                    Err(format!("{conditions:?}"))
                }
            },
        )
        .await;
    }
}
