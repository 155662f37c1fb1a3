//! Scheduling a Work's workload groups onto Destinations: which
//! WorkPlacements should exist, which are misplaced, which groups found nowhere to
//! go, and the Work's scheduling conditions. Pure: the agent feeds it the Work, the
//! Destinations and the Work's existing placements, and applies the answer.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::conditions::{messages, reasons, status as state, types};
use crate::api::work::{WorkSpec, WorkloadGroup};
use crate::workflow::conditions::Condition;

/// Selector sources, weakest first: a later source wins on a shared key, so the
/// Promise's own selectors always win.
const SOURCE_ORDER: [&str; 3] = ["resource-workflow", "promise-workflow", "promise"];

/// What scheduling needs to know about one Destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationView<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub strict_match_labels: bool,
    /// Being deleted: never a new target.
    pub deleting: bool,
}

/// One WorkPlacement of the Work as it exists now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPlacement<'a> {
    pub name: &'a str,
    pub destination: &'a str,
    pub group_id: &'a str,
    /// Has a deletion timestamp: its files are being removed. It neither keeps
    /// its group's Destination nor may be applied again, which would create it
    /// anew the moment its deletion completes.
    pub deleting: bool,
}

/// One WorkPlacement as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub name: String,
    pub destination: String,
    /// Index into the Work's `workloadGroups`.
    pub group: usize,
    /// Its Destination no longer matches the group's selector: kept (files are never
    /// pulled from under a running system by a label edit) but reported.
    pub misplaced: bool,
}

/// The whole answer for one Work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    pub placements: Vec<Placement>,
    /// Ids of groups that no Destination matches.
    pub unscheduled: Vec<String>,
    /// Existing placements whose group is no longer in the Work: delete them.
    pub obsolete: Vec<String>,
    /// Planned placements whose name an object being deleted still holds: apply
    /// them once it is gone (its deletion wakes the Work).
    pub awaiting_deletion: Vec<String>,
}

/// The group's selector: its selectors merged in source order.
pub fn effective_selector(group: &WorkloadGroup) -> BTreeMap<String, String> {
    let mut merged = BTreeMap::new();
    for source in SOURCE_ORDER {
        for selector in group.destination_selectors.iter().filter(|s| s.source == source) {
            merged.extend(selector.match_labels.clone());
        }
    }
    // A source the contract does not name still counts, below the Promise's.
    for selector in group
        .destination_selectors
        .iter()
        .filter(|s| !SOURCE_ORDER.contains(&s.source.as_str()))
    {
        for (key, value) in &selector.match_labels {
            merged.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    merged
}

/// Whether `destination` may receive a group with `selector`.
pub fn matches(
    selector: &BTreeMap<String, String>,
    destination: &DestinationView<'_>,
    dry_run: bool,
) -> bool {
    let labels = destination.labels;
    if !dry_run
        && labels
            .get(crate::api::labels::DRY_RUN)
            .is_some_and(|v| v == "true")
    {
        return false;
    }
    if selector.is_empty() && destination.strict_match_labels && !labels.is_empty() {
        return false;
    }
    selector.iter().all(|(key, value)| labels.get(key) == Some(value))
}

/// `<work>.<destination>-<first five characters of the group id>`.
pub fn placement_name(work: &str, destination: &str, group_id: &str) -> String {
    let short: String = group_id.chars().take(5).collect();
    format!("{work}.{destination}-{short}")
}

/// Schedules every workload group of Work `work_name`.
///
/// A resource's group goes to one Destination and stays there (sticky); a new one is
/// picked by a hash of the Work and group, not at random, so the same inputs always
/// give the same Destination (a retried or restarted scheduler never places a group
/// twice) and groups still spread over the candidates. A dependency group goes to
/// every matching Destination.
pub fn schedule(
    work_name: &str,
    spec: &WorkSpec,
    dry_run: bool,
    destinations: &[DestinationView<'_>],
    existing: &[ExistingPlacement<'_>],
) -> Schedule {
    let mut out = Schedule::default();
    let resource_work = !spec.resource_name.is_empty();
    let live_groups: BTreeSet<&str> = spec.workload_groups.iter().map(|g| g.id.as_str()).collect();
    for (index, group) in spec.workload_groups.iter().enumerate() {
        let selector = effective_selector(group);
        let mut candidates: Vec<&str> = destinations
            .iter()
            .filter(|d| !d.deleting && matches(&selector, d, dry_run))
            .map(|d| d.name)
            .collect();
        candidates.sort_unstable();
        let placed: Vec<&ExistingPlacement<'_>> = existing
            .iter()
            .filter(|p| p.group_id == group.id && !p.deleting)
            .collect();
        let keep = |placement: &ExistingPlacement<'_>| Placement {
            name: placement.name.to_owned(),
            destination: placement.destination.to_owned(),
            group: index,
            misplaced: !candidates.contains(&placement.destination),
        };
        if resource_work && !placed.is_empty() {
            out.placements.extend(placed.iter().map(|p| keep(p)));
            continue;
        }
        if resource_work {
            match pick(work_name, &group.id, &candidates) {
                Some(destination) => out.placements.push(Placement {
                    name: placement_name(work_name, destination, &group.id),
                    destination: destination.to_owned(),
                    group: index,
                    misplaced: false,
                }),
                None => out.unscheduled.push(group.id.clone()),
            }
            continue;
        }
        // Dependencies: every candidate, and what is placed elsewhere stays, misplaced.
        for destination in &candidates {
            let name = placed.iter().find(|p| p.destination == *destination).map_or_else(
                || placement_name(work_name, destination, &group.id),
                |p| p.name.to_owned(),
            );
            out.placements.push(Placement {
                name,
                destination: (*destination).to_owned(),
                group: index,
                misplaced: false,
            });
        }
        out.placements.extend(
            placed
                .iter()
                .filter(|p| !candidates.contains(&p.destination))
                .map(|p| keep(p)),
        );
        if candidates.is_empty() && placed.is_empty() {
            out.unscheduled.push(group.id.clone());
        }
    }
    out.obsolete = existing
        .iter()
        .filter(|p| !p.deleting && !live_groups.contains(p.group_id))
        .map(|p| p.name.to_owned())
        .collect();
    out.awaiting_deletion = out
        .placements
        .iter()
        .filter(|planned| existing.iter().any(|p| p.deleting && p.name == planned.name))
        .map(|planned| planned.name.clone())
        .collect();
    out
}

fn pick<'a>(work_name: &str, group_id: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if candidates.is_empty() {
        return None;
    }
    let digest = crate::api::naming::md5_hex(format!("{work_name}/{group_id}").as_bytes());
    let number = u64::from_str_radix(&digest[..16], 16).unwrap_or_default();
    let index = usize::try_from(number % candidates.len() as u64).unwrap_or_default();
    Some(candidates[index])
}

/// The Work's `ScheduleSucceeded` and `Ready` when placing workload group
/// `group_id` failed on an API error, as Kratix's scheduler sets them.
pub fn failed_to_schedule(group_id: &str) -> (Condition, Condition) {
    (
        Condition {
            type_: types::SCHEDULE_SUCCEEDED,
            status: state::FALSE,
            reason: reasons::FAILED_TO_SCHEDULE_WORKLOADS,
            message: format!("Failed to schedule or update for workloadGroups: [{group_id}]"),
        },
        Condition {
            type_: types::READY,
            status: state::FALSE,
            reason: reasons::FAILED_TO_SCHEDULE_WORKLOADS,
            message: messages::PENDING.to_owned(),
        },
    )
}

/// Where a WorkPlacement's last write stands (its `WriteSucceeded` condition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Yes,
    Failed,
    NotYet,
}

/// The Work's `ScheduleSucceeded` and `Ready` conditions, as Kratix sets them
/// (its strings verbatim): the scheduler's verdict, overridden when any
/// placement's write failed. `Ready` does not wait for writes, as in Kratix;
/// how many placements are written is [`written_count`]'s, in its own field.
pub fn work_conditions(
    schedule: &Schedule,
    spec: &WorkSpec,
    written: impl Fn(&str) -> Written,
) -> (Condition, Condition) {
    let failed: Vec<&str> = schedule
        .placements
        .iter()
        .filter(|p| written(&p.name) == Written::Failed)
        .map(|p| p.name.as_str())
        .collect();
    if !failed.is_empty() {
        let scheduled = format!("Workplacements failed to write: [{}]", failed.join(","));
        return not_scheduled(
            reasons::WORKPLACEMENTS_FAILING,
            scheduled,
            (reasons::WORKPLACEMENTS_FAILING, messages::FAILING),
        );
    }
    if !schedule.unscheduled.is_empty() {
        let scheduled = format!(
            "No matching destination found for workloadGroups: [{}]",
            schedule.unscheduled.join(",")
        );
        return not_scheduled(
            reasons::UNSCHEDULED_WORKLOADS,
            scheduled,
            (reasons::UNSCHEDULED_WORKLOADS, messages::PENDING),
        );
    }
    let mut misplaced: Vec<&str> = schedule
        .placements
        .iter()
        .filter(|p| p.misplaced)
        .filter_map(|p| spec.workload_groups.get(p.group).map(|g| g.id.as_str()))
        .collect();
    misplaced.dedup();
    if !misplaced.is_empty() {
        let scheduled = format!(
            "Target destination no longer matches destinationSelectors for workloadGroups: [{}]",
            misplaced.join(",")
        );
        return not_scheduled(
            reasons::DESTINATION_SELECTOR_MISMATCH,
            scheduled,
            (reasons::MISPLACED, messages::MISPLACED),
        );
    }
    let reason = reasons::ALL_WORKPLACEMENTS_SCHEDULED;
    (
        condition(
            types::SCHEDULE_SUCCEEDED,
            state::TRUE,
            reason,
            "All workplacements scheduled successfully",
        ),
        condition(types::READY, state::TRUE, reason, messages::READY),
    )
}

fn condition(type_: &'static str, status: &'static str, reason: &'static str, message: &str) -> Condition {
    Condition {
        type_,
        status,
        reason,
        message: message.to_owned(),
    }
}

/// A Work's `ScheduleSucceeded` False for `reason`, saying `scheduled`, and its
/// `Ready` False with the reason and message given.
fn not_scheduled(
    reason: &'static str,
    scheduled: String,
    (ready_reason, ready_message): (&'static str, &str),
) -> (Condition, Condition) {
    (
        condition(types::SCHEDULE_SUCCEEDED, state::FALSE, reason, &scheduled),
        condition(types::READY, state::FALSE, ready_reason, ready_message),
    )
}

/// How many of the Work's placements have their files in a store: the agent's
/// `status.workPlacementsWritten`, which Kratix has no word for (its `Ready`
/// says scheduled, not written).
pub fn written_count(schedule: &Schedule, written: impl Fn(&str) -> Written) -> usize {
    schedule
        .placements
        .iter()
        .filter(|p| written(&p.name) == Written::Yes)
        .count()
}

/// Where a Work's written placements are, by placement name: each placement whose
/// last write succeeded and that says where its files went.
pub fn work_outputs(placements: &[crate::api::work::WorkPlacement]) -> Vec<crate::api::work::WorkOutput> {
    let mut outputs: Vec<crate::api::work::WorkOutput> = placements
        .iter()
        .filter_map(|placement| {
            let status = placement.status.as_ref()?;
            let written = status
                .conditions
                .iter()
                .any(|c| c.type_ == types::WRITE_SUCCEEDED && c.status == state::TRUE);
            let path = status.path.clone().filter(|_| written)?;
            Some(crate::api::work::WorkOutput {
                work_placement: placement.metadata.name.clone().unwrap_or_default(),
                destination: placement.spec.target_destination_name.clone(),
                path,
                version_id: status.version_id.clone(),
            })
        })
        .collect();
    outputs.sort_by(|a, b| a.work_placement.cmp(&b.work_placement));
    outputs
}

/// A WorkPlacement's scheduling conditions, Kratix's strings verbatim. `written`
/// is where its writer's last write stands: `Ready` is Pending until a write, the
/// writer's after one (Ready again once a misplaced placement matches; a failed
/// write keeps its `Failing`).
pub fn placement_conditions(placement: &Placement, written: Written) -> Vec<Condition> {
    if placement.misplaced {
        return vec![
            condition(
                types::SCHEDULE_SUCCEEDED,
                state::FALSE,
                reasons::DESTINATION_SELECTOR_MISMATCH,
                "Target destination no longer matches destinationSelectors",
            ),
            condition(
                types::READY,
                state::FALSE,
                reasons::MISPLACED,
                messages::MISPLACED,
            ),
        ];
    }
    let mut conditions = vec![condition(
        types::SCHEDULE_SUCCEEDED,
        state::TRUE,
        reasons::SCHEDULED_TO_DESTINATION,
        "Scheduled to correct Destination",
    )];
    match written {
        Written::NotYet => conditions.push(condition(
            types::READY,
            state::FALSE,
            reasons::SCHEDULED_TO_DESTINATION,
            messages::PENDING,
        )),
        Written::Yes => conditions.push(condition(
            types::READY,
            state::TRUE,
            reasons::WORKLOADS_WRITTEN_TO_TARGET_DESTINATION,
            messages::READY,
        )),
        Written::Failed => {}
    }
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::work::{Workload, WorkloadGroupScheduling};

    use crate::api::labels::from_pairs as labels;

    fn group(id: &str, selectors: &[(&str, &[(&str, &str)])]) -> WorkloadGroup {
        WorkloadGroup {
            id: id.to_owned(),
            directory: ".".to_owned(),
            workloads: vec![Workload {
                filepath: "a.yaml".to_owned(),
                content: String::new(),
            }],
            destination_selectors: selectors
                .iter()
                .map(|(source, pairs)| WorkloadGroupScheduling {
                    match_labels: labels(pairs),
                    source: (*source).to_owned(),
                })
                .collect(),
        }
    }

    fn spec(resource: &str, groups: Vec<WorkloadGroup>) -> WorkSpec {
        WorkSpec {
            promise_name: "redis".to_owned(),
            resource_name: resource.to_owned(),
            last_execution_timestamp: None,
            workload_groups: groups,
        }
    }

    struct Fleet(Vec<(String, BTreeMap<String, String>, bool, bool)>);

    impl Fleet {
        fn new(items: &[(&str, &[(&str, &str)])]) -> Fleet {
            Fleet(
                items
                    .iter()
                    .map(|(name, pairs)| ((*name).to_owned(), labels(pairs), false, false))
                    .collect(),
            )
        }
        fn views(&self) -> Vec<DestinationView<'_>> {
            self.0
                .iter()
                .map(|(name, labels, strict, deleting)| DestinationView {
                    name,
                    labels,
                    strict_match_labels: *strict,
                    deleting: *deleting,
                })
                .collect()
        }
    }

    #[test]
    fn the_promise_selector_wins_over_the_workflows() {
        let merged = effective_selector(&group(
            "g",
            &[
                ("promise", &[("env", "prod")]),
                ("resource-workflow", &[("env", "dev"), ("zone", "a")]),
                ("promise-workflow", &[("zone", "b")]),
            ],
        ));
        assert_eq!(merged, labels(&[("env", "prod"), ("zone", "b")]));
    }

    #[test]
    fn strict_destinations_and_dry_run_destinations_are_skipped_when_they_should_be() {
        let strict_labels = labels(&[("env", "dev")]);
        let strict = DestinationView {
            name: "strict",
            labels: &strict_labels,
            strict_match_labels: true,
            deleting: false,
        };
        assert!(
            !matches(&BTreeMap::new(), &strict, false),
            "empty selector skips strict"
        );
        assert!(matches(&labels(&[("env", "dev")]), &strict, false));
        let dry_labels = labels(&[("kratix.io/dry-run", "true")]);
        let dry = DestinationView {
            name: "dry",
            labels: &dry_labels,
            strict_match_labels: false,
            deleting: false,
        };
        assert!(!matches(&BTreeMap::new(), &dry, false));
        assert!(matches(&BTreeMap::new(), &dry, true));
    }

    #[test]
    fn a_resource_group_goes_to_one_destination_chosen_the_same_way_every_time() {
        let fleet = Fleet::new(&[("a", &[("env", "dev")]), ("b", &[("env", "dev")]), ("c", &[])]);
        let work = spec("cache", vec![group("g1", &[("promise", &[("env", "dev")])])]);
        let first = schedule("w", &work, false, &fleet.views(), &[]);
        assert_eq!(first.placements.len(), 1);
        let chosen = first.placements[0].destination.clone();
        assert!(chosen == "a" || chosen == "b", "{chosen}");
        assert_eq!(first.placements[0].name, format!("w.{chosen}-g1"));
        assert_eq!(schedule("w", &work, false, &fleet.views(), &[]), first);
        // Many Works spread over both candidates.
        let spread: BTreeSet<String> = (0..20)
            .map(|i| {
                schedule(&format!("w{i}"), &work, false, &fleet.views(), &[]).placements[0]
                    .destination
                    .clone()
            })
            .collect();
        assert_eq!(spread.len(), 2);
    }

    #[test]
    fn a_placed_resource_group_stays_and_is_marked_misplaced_when_its_destination_stops_matching() {
        let fleet = Fleet::new(&[("a", &[("env", "prod")]), ("b", &[("env", "dev")])]);
        let work = spec("cache", vec![group("g1", &[("promise", &[("env", "dev")])])]);
        let existing = [ExistingPlacement {
            name: "w.a-g1",
            destination: "a",
            group_id: "g1",
            deleting: false,
        }];
        let planned = schedule("w", &work, false, &fleet.views(), &existing);
        assert_eq!(
            planned.placements,
            [Placement {
                name: "w.a-g1".to_owned(),
                destination: "a".to_owned(),
                group: 0,
                misplaced: true
            }]
        );
        let (scheduled, ready) = work_conditions(&planned, &work, |_| Written::Yes);
        assert_eq!(
            (scheduled.status, scheduled.reason),
            ("False", "DestinationSelectorMismatch")
        );
        assert_eq!(
            scheduled.message,
            "Target destination no longer matches destinationSelectors for workloadGroups: [g1]"
        );
        assert_eq!(ready.message, "Misplaced");
    }

    #[test]
    fn a_placement_being_deleted_neither_keeps_its_group_nor_is_applied_again() {
        let mut fleet = Fleet::new(&[("a", &[]), ("b", &[])]);
        fleet.0[0].3 = true; // a is being deleted, its cleanup deleting the placement
        let work = spec("cache", vec![group("g1", &[])]);
        let existing = [ExistingPlacement {
            name: "w.a-g1",
            destination: "a",
            group_id: "g1",
            deleting: true,
        }];
        let planned = schedule("w", &work, false, &fleet.views(), &existing);
        assert_eq!(
            planned
                .placements
                .iter()
                .map(|p| p.destination.as_str())
                .collect::<Vec<_>>(),
            ["b"],
            "the group moves to a Destination that stays"
        );
        assert!(planned.awaiting_deletion.is_empty() && planned.obsolete.is_empty());

        // The only candidate is the one the deleting placement was on: wait.
        let fleet = Fleet::new(&[("a", &[])]);
        let planned = schedule("w", &work, false, &fleet.views(), &existing);
        assert_eq!(planned.placements[0].name, "w.a-g1");
        assert_eq!(planned.awaiting_deletion, ["w.a-g1"]);

        // Gone from the Work while being deleted: not deleted twice.
        let other = spec("cache", vec![group("g2", &[])]);
        assert!(
            schedule("w", &other, false, &fleet.views(), &existing)
                .obsolete
                .is_empty()
        );
    }

    #[test]
    fn dependencies_go_everywhere_that_matches_and_groups_gone_from_the_work_are_obsolete() {
        let mut fleet = Fleet::new(&[("a", &[]), ("b", &[("env", "dev")]), ("c", &[("env", "dev")])]);
        fleet.0[2].3 = true; // c is being deleted
        let work = spec("", vec![group("g1", &[("promise", &[("env", "dev")])])]);
        let existing = [
            ExistingPlacement {
                name: "w.a-g1",
                destination: "a",
                group_id: "g1",
                deleting: false,
            },
            ExistingPlacement {
                name: "w.b-old",
                destination: "b",
                group_id: "old",
                deleting: false,
            },
        ];
        let planned = schedule("w", &work, false, &fleet.views(), &existing);
        let summary: Vec<(&str, bool)> = planned
            .placements
            .iter()
            .map(|p| (p.destination.as_str(), p.misplaced))
            .collect();
        assert_eq!(summary, [("b", false), ("a", true)]);
        assert_eq!(planned.obsolete, ["w.b-old"]);
    }

    #[test]
    fn a_group_with_nowhere_to_go_is_unscheduled_and_the_work_pending() {
        let fleet = Fleet::new(&[("a", &[("env", "prod")])]);
        let work = spec("cache", vec![group("g1", &[("promise", &[("env", "dev")])])]);
        let planned = schedule("w", &work, false, &fleet.views(), &[]);
        assert!(planned.placements.is_empty());
        assert_eq!(planned.unscheduled, ["g1"]);
        let (scheduled, ready) = work_conditions(&planned, &work, |_| Written::Yes);
        assert_eq!(
            (scheduled.status, scheduled.reason),
            ("False", "UnscheduledWorkloads")
        );
        assert_eq!(
            scheduled.message,
            "No matching destination found for workloadGroups: [g1]"
        );
        assert_eq!((ready.status, ready.message.as_str()), ("False", "Pending"));
        let everywhere = schedule(
            "w",
            &spec("", work.workload_groups.clone()),
            false,
            &fleet.views(),
            &[],
        );
        assert_eq!(everywhere.unscheduled, ["g1"], "dependencies too");
    }

    #[test]
    fn a_work_is_ready_once_scheduled_failing_when_a_write_fails_and_counts_what_is_written() {
        let fleet = Fleet::new(&[("a", &[])]);
        let work = spec("", vec![group("g1", &[]), group("g2", &[])]);
        let planned = schedule("w", &work, false, &fleet.views(), &[]);
        let one_failed = |name: &str| {
            if name == "w.a-g1" {
                Written::Failed
            } else {
                Written::Yes
            }
        };
        let (scheduled, ready) = work_conditions(&planned, &work, one_failed);
        assert_eq!(
            (scheduled.status, scheduled.reason, scheduled.message.as_str()),
            (
                "False",
                "WorkplacementsFailing",
                "Workplacements failed to write: [w.a-g1]"
            )
        );
        assert_eq!(
            (ready.status, ready.reason, ready.message.as_str()),
            ("False", "WorkplacementsFailing", "Failing")
        );
        assert_eq!(written_count(&planned, one_failed), 1);
        // Not yet written is still Ready, as Kratix says it: the count tells.
        let (scheduled, ready) = work_conditions(&planned, &work, |_| Written::NotYet);
        assert_eq!(
            (scheduled.reason, scheduled.message.as_str()),
            (
                "AllWorkplacementsScheduled",
                "All workplacements scheduled successfully"
            )
        );
        assert_eq!(
            (ready.status, ready.reason, ready.message.as_str()),
            ("True", "AllWorkplacementsScheduled", "Ready")
        );
        assert_eq!(written_count(&planned, |_| Written::NotYet), 0);
        assert_eq!(written_count(&planned, |_| Written::Yes), 2);
    }

    #[test]
    fn placement_conditions_are_kratix_strings_and_leave_a_failed_write_failing() {
        let placement = Placement {
            name: "w.dev-5058f".to_owned(),
            destination: "dev".to_owned(),
            group: 0,
            misplaced: false,
        };
        let strings = |conditions: Vec<Condition>| {
            conditions
                .into_iter()
                .map(|c| format!("{}/{}/{}/{}", c.type_, c.status, c.reason, c.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strings(placement_conditions(&placement, Written::NotYet)),
            [
                "ScheduleSucceeded/True/ScheduledToDestination/Scheduled to correct Destination",
                "Ready/False/ScheduledToDestination/Pending"
            ]
        );
        assert_eq!(
            strings(placement_conditions(&placement, Written::Yes))[1],
            "Ready/True/WorkloadsWrittenToTargetDestination/Ready"
        );
        assert_eq!(placement_conditions(&placement, Written::Failed).len(), 1);
        let misplaced = Placement {
            misplaced: true,
            ..placement
        };
        assert_eq!(
            strings(placement_conditions(&misplaced, Written::Yes)),
            [
                "ScheduleSucceeded/False/DestinationSelectorMismatch/Target destination no longer matches destinationSelectors",
                "Ready/False/Misplaced/Misplaced"
            ]
        );
    }

    #[test]
    fn a_failed_placement_says_which_group_in_kratix_words() {
        let (scheduled, ready) = failed_to_schedule("5058f1af8388633f609cadb75a75dc9d");
        assert_eq!(
            (scheduled.status, scheduled.reason, scheduled.message.as_str()),
            (
                "False",
                "FailedToScheduleWorkloads",
                "Failed to schedule or update for workloadGroups: [5058f1af8388633f609cadb75a75dc9d]"
            )
        );
        assert_eq!(
            (ready.type_, ready.status, ready.reason, ready.message.as_str()),
            ("Ready", "False", "FailedToScheduleWorkloads", "Pending")
        );
    }
}
