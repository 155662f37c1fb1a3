//! Unit tests of what `workflows status` shows, over every layout of the
//! workflow record.

use serde_json::json;

use super::*;

fn now() -> Timestamp {
    "2026-12-02T10:00:00Z".parse().expect("timestamp")
}

fn request(pipelines: Value) -> Value {
    json!({
        "apiVersion": "example.org/v1alpha1",
        "kind": "Redis",
        "metadata": {"name": "cache", "namespace": "team-a", "labels": {}},
        "status": {
            "conditions": [{
                "type": "ConfigureWorkflowCompleted", "status": "False",
                "reason": "PipelinesInProgress", "message": "Pipelines are still in progress",
                "lastTransitionTime": "2026-12-02T09:59:00Z"
            }],
            "kratix": {
                "workflows": {"configure": {"pipelines": pipelines}},
                "outputs": [{"pipeline": "instance", "destination": "worker-1",
                             "path": "dest/worker-1/resources/team-a/redis/cache/instance",
                             "versionID": "abc123"}]
            }
        }
    })
}

fn job(name: &str, start: &str, end: Option<&str>) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "status": {"startTime": start, "completionTime": end}
    }))
    .expect("job")
}

fn pod(name: &str, job: &str, created: &str, statuses: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "creationTimestamp": created,
                     "labels": {JOB_NAME_LABEL: job}},
        "status": {"initContainerStatuses": statuses}
    }))
    .expect("pod")
}

fn input<'a>(
    object: &'a Value,
    jobs: &'a [&'a Job],
    pods: &'a [&'a Pod],
    names: &'a [String],
) -> ReportInput<'a> {
    ReportInput {
        object,
        promise: "redis",
        configure_pipelines: names,
        jobs,
        pods,
        outputs: outputs_from_status(object),
        now: now(),
    }
}

#[test]
fn pipelines_show_in_order_with_durations_jobs_and_the_newest_pod() {
    let object = request(json!([
        {"name": "instance", "phase": "Succeeded", "attempts": 1, "jobName": "kratix-redis-cache-instance-a1b2c"},
        {"name": "backup", "phase": "Running", "attempts": 2, "jobName": "kratix-redis-cache-backup-d3e4f"}
    ]));
    let jobs = [
        job(
            "kratix-redis-cache-instance-a1b2c",
            "2026-12-02T09:58:00Z",
            Some("2026-12-02T09:58:12Z"),
        ),
        job("kratix-redis-cache-backup-d3e4f", "2026-12-02T09:59:30Z", None),
    ];
    let pods = [
        pod(
            "backup-old",
            "kratix-redis-cache-backup-d3e4f",
            "2026-12-02T09:59:30Z",
            json!([]),
        ),
        pod(
            "backup-new",
            "kratix-redis-cache-backup-d3e4f",
            "2026-12-02T09:59:40Z",
            json!([{"name": "reader", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0}}},
                   {"name": "backup", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]),
        ),
    ];
    let jobs: Vec<&Job> = jobs.iter().collect();
    let pods: Vec<&Pod> = pods.iter().collect();
    let report = build(&input(&object, &jobs, &pods, &[]));
    assert_eq!(report.name, "cache");
    assert_eq!(report.namespace.as_deref(), Some("team-a"));
    assert_eq!(report.action, "configure");
    let [first, second] = report.pipelines.as_slice() else {
        panic!("two pipelines: {:?}", report.pipelines)
    };
    assert_eq!(
        (first.name.as_str(), first.phase.as_str()),
        ("instance", "Succeeded")
    );
    assert_eq!(first.duration_seconds, Some(12));
    assert_eq!(first.last_run.as_deref(), Some("2026-12-02T09:58:00Z"));
    assert_eq!(
        second.duration_seconds,
        Some(30),
        "a running Job counts up to now"
    );
    assert_eq!(second.attempts, Some(2));
    assert_eq!(second.pod.as_deref(), Some("backup-new"));
    assert_eq!(
        second.message.as_deref(),
        Some("container backup is waiting: ImagePullBackOff: no such image")
    );
    assert_eq!(report.conditions[0].condition_type, "ConfigureWorkflowCompleted");
    assert_eq!(report.outputs[0].destination, "worker-1");
    assert_eq!(report.outputs[0].version.as_deref(), Some("abc123"));
}

#[test]
fn without_progress_the_promise_pipelines_show_as_not_started() {
    let object = json!({"kind": "Redis", "metadata": {"name": "cache"}});
    let names = ["instance".to_owned(), "backup".to_owned()];
    let report = build(&input(&object, &[], &[], &names));
    let phases: Vec<&str> = report.pipelines.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(phases, [NOT_STARTED, NOT_STARTED]);
    assert!(report.outputs.is_empty());
}

#[test]
fn a_container_that_exited_non_zero_explains_a_failed_pipeline() {
    let object = request(json!([{"name": "instance", "phase": "Failed", "jobName": "j"}]));
    let pods = [pod(
        "p",
        "j",
        "2026-12-02T09:59:40Z",
        json!([{"name": "reader", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0}}},
               {"name": "instance", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]),
    )];
    let pods: Vec<&Pod> = pods.iter().collect();
    let report = build(&input(&object, &[], &pods, &[]));
    assert_eq!(
        report.pipelines[0].message.as_deref(),
        Some("container instance exited 3 (Error)")
    );
}

#[test]
fn works_outputs_carry_their_pipeline() {
    let works = [json!({
        "metadata": {"labels": {labels::PIPELINE_NAME: "deps"}},
        "status": {"outputs": [{"destination": "d", "path": "p", "versionID": ""}]}
    })];
    let outputs = outputs_from_works(&works);
    assert_eq!(outputs[0].pipeline.as_deref(), Some("deps"));
    assert_eq!(outputs[0].version, None);
}

#[test]
fn a_failed_job_without_pods_explains_itself() {
    let object = request(json!([{"name": "instance", "phase": "Failed", "jobName": "j"}]));
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "j"},
        "status": {"startTime": "2026-12-02T09:59:00Z", "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit",
             "lastTransitionTime": "2026-12-02T09:59:19Z"}
        ]}
    }))
    .expect("job");
    let jobs = [&job];
    let report = build(&input(&object, &jobs, &[], &[]));
    let pipeline = &report.pipelines[0];
    assert_eq!(pipeline.duration_seconds, Some(19), "ended when it failed");
    assert_eq!(
        pipeline.message.as_deref(),
        Some("Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit")
    );
}

#[test]
fn a_failed_job_comes_first_even_while_its_pod_is_still_there() {
    let object = request(json!([{"name": "check", "phase": "Failed", "jobName": "j"}]));
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "j"},
        "status": {"startTime": "2026-12-02T09:59:00Z", "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit",
             "lastTransitionTime": "2026-12-02T09:59:19Z"}
        ]}
    }))
    .expect("job");
    let jobs = [&job];
    let pods = [pod(
        "p",
        "j",
        "2026-12-02T09:59:10Z",
        json!([{"name": "main", "image": "i", "imageID": "", "ready": false, "restartCount": 2,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container main"}}}]),
    )];
    let pods: Vec<&Pod> = pods.iter().collect();
    let report = build(&input(&object, &jobs, &pods, &[]));
    assert_eq!(
        report.pipelines[0].message.as_deref(),
        Some(
            "Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit \
             (container main is waiting: CrashLoopBackOff: back-off restarting failed container main)"
        ),
        "the pod, not yet deleted, no longer hides why the Job failed"
    );
}

#[test]
fn every_layout_of_the_record_shows_the_same_pipelines_and_jobs() {
    // kubectl-kratix's record names its Jobs; Kratix's (before and after its
    // #933) names none, so the newest Job of the pipeline at the hash is shown.
    let labelled = |name: &str, pipeline: &str, hash: &str, created: &str| -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created, "labels": {
                "kratix.io/workflow-action": "configure",
                "kratix.io/pipeline-name": pipeline,
                "kratix.io/hash": hash}},
            "status": {"startTime": created}
        }))
        .expect("job")
    };
    let jobs = [
        labelled("instance-old", "instance", "h0", "2026-12-02T09:50:00Z"),
        labelled("instance-new", "instance", "h1", "2026-12-02T09:58:00Z"),
    ];
    let jobs: Vec<&Job> = jobs.iter().collect();
    let with_workflows = |workflows: Value| {
        let mut object = request(json!([]));
        object["status"]["kratix"]["workflows"] = workflows;
        object
    };
    let layouts = [
        with_workflows(json!({"configure": {"pipelines": [
            {"name": "instance", "hash": "h1", "phase": "Succeeded", "jobName": "instance-new"}]}})),
        with_workflows(json!({"configure": {"pipelines": [
            {"name": "instance", "hash": "h1", "phase": "Succeeded"}]}})),
        with_workflows(json!({"hash": "h1", "pipelines": [
            {"name": "instance", "phase": "Succeeded", "jobName": "instance-new"}]})),
        with_workflows(json!({"pipelines": [{"name": "instance", "phase": "Succeeded"}]})),
    ];
    for object in &layouts {
        let report = build(&input(object, &jobs, &[], &[]));
        let [only] = report.pipelines.as_slice() else {
            panic!("one pipeline from {object}: {:?}", report.pipelines)
        };
        assert_eq!(only.phase, "Succeeded", "{object}");
        assert_eq!(only.job.as_deref(), Some("instance-new"), "{object}");
        assert_eq!(report.action, "configure");
    }
}

#[test]
fn a_going_object_shows_its_delete_run() {
    let mut object = request(json!([{"name": "instance", "hash": "h1", "phase": "Succeeded"}]));
    object["status"]["kratix"]["workflows"]["delete"] =
        json!({"pipelines": [{"name": "teardown", "hash": "h1", "phase": "Running"}]});
    assert_eq!(
        build(&input(&object, &[], &[], &[])).pipelines[0].name,
        "instance"
    );
    object["metadata"]["deletionTimestamp"] = json!("2026-12-02T09:59:59Z");
    let report = build(&input(&object, &[], &[], &[]));
    assert_eq!(report.action, "delete");
    assert_eq!(report.pipelines[0].name, "teardown");
}
