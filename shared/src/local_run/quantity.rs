//! `resourceFieldRef` values: a container's requests and limits divided by the
//! divisor and rounded up, as the kubelet gives them to the container.

use k8s_openapi::api::core::v1::Container;

/// A Kubernetes quantity (`200m`, `256Mi`, `1.5`, `2e3`) as an exact fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fraction {
    numerator: u128,
    denominator: u128,
}

fn parse(text: &str) -> Option<Fraction> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number = number.strip_prefix('+').unwrap_or(number);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let mut value = Fraction {
        numerator: digits.parse().ok()?,
        denominator: 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?,
    };
    let (multiplier, divider): (u128, u128) = match suffix {
        "" => (1, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        exponent => {
            let power: i32 = exponent.strip_prefix(['e', 'E'])?.parse().ok()?;
            let scale = 10u128.checked_pow(power.unsigned_abs())?;
            if power >= 0 { (scale, 1) } else { (1, scale) }
        }
    };
    value.numerator = value.numerator.checked_mul(multiplier)?;
    value.denominator = value.denominator.checked_mul(divider)?;
    Some(value)
}

/// `resource` (`limits.cpu`, `requests.memory`, ...) of `container`, divided
/// by `divisor` (default 1) and rounded up.
pub fn resource_field(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
) -> Result<String, String> {
    let (side, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("resourceFieldRef {resource:?} is not limits.NAME or requests.NAME"))?;
    let resources = container.resources.as_ref();
    let limits = resources.and_then(|r| r.limits.as_ref());
    let requests = resources.and_then(|r| r.requests.as_ref());
    let amount = match side {
        "limits" => limits.and_then(|l| l.get(name)).map(|q| q.0.as_str()).ok_or_else(|| {
            format!(
                "{resource} is not set on the container; on a cluster the kubelet would give the node's allocatable, which a local run does not know: set it"
            )
        })?,
        // The API server defaults a request to its limit; with neither set the
        // kubelet reports nothing requested.
        "requests" => requests
            .and_then(|r| r.get(name))
            .or_else(|| limits.and_then(|l| l.get(name)))
            .map_or("0", |q| q.0.as_str()),
        _ => {
            return Err(format!(
                "resourceFieldRef {resource:?} is not limits.NAME or requests.NAME"
            ));
        }
    };
    let value = parse(amount).ok_or_else(|| format!("{resource}: {amount:?} is not a quantity"))?;
    let divisor_text = divisor.unwrap_or("1");
    let by = parse(divisor_text)
        .filter(|d| d.numerator > 0)
        .ok_or_else(|| format!("resourceFieldRef divisor {divisor_text:?} is not a positive quantity"))?;
    let numerator = value
        .numerator
        .checked_mul(by.denominator)
        .ok_or_else(|| format!("{resource}: too large"))?;
    let denominator = value
        .denominator
        .checked_mul(by.numerator)
        .ok_or_else(|| format!("{resource}: too large"))?;
    Ok(numerator.div_ceil(denominator).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;

    fn container() -> Container {
        let amounts = |cpu: &str, memory: &str| {
            BTreeMap::from([
                ("cpu".to_owned(), Quantity(cpu.to_owned())),
                ("memory".to_owned(), Quantity(memory.to_owned())),
            ])
        };
        Container {
            resources: Some(ResourceRequirements {
                limits: Some(amounts("200m", "256Mi")),
                requests: Some(amounts("1.5", "1e3")),
                ..ResourceRequirements::default()
            }),
            ..Container::default()
        }
    }

    #[test]
    fn values_round_up_after_the_divisor() {
        let c = container();
        assert_eq!(resource_field(&c, "limits.cpu", None).as_deref(), Ok("1"));
        assert_eq!(resource_field(&c, "limits.cpu", Some("1m")).as_deref(), Ok("200"));
        assert_eq!(
            resource_field(&c, "limits.memory", None).as_deref(),
            Ok("268435456")
        );
        assert_eq!(
            resource_field(&c, "limits.memory", Some("1Mi")).as_deref(),
            Ok("256")
        );
        assert_eq!(resource_field(&c, "requests.cpu", None).as_deref(), Ok("2"));
        assert_eq!(
            resource_field(&c, "requests.memory", Some("1k")).as_deref(),
            Ok("1")
        );
    }

    #[test]
    fn a_request_not_set_is_its_limit_else_nothing() {
        let mut c = container();
        let resources = c.resources.as_mut().expect("resources");
        resources.requests = None;
        assert_eq!(
            resource_field(&c, "requests.cpu", Some("1m")).as_deref(),
            Ok("200")
        );
        assert_eq!(
            resource_field(&c, "requests.ephemeral-storage", None).as_deref(),
            Ok("0")
        );
        c.resources = None;
        assert_eq!(resource_field(&c, "requests.memory", None).as_deref(), Ok("0"));
        assert!(resource_field(&c, "limits.memory", None).is_err());
    }

    #[test]
    fn what_cannot_be_known_locally_is_said() {
        let c = container();
        let unset = resource_field(&c, "limits.ephemeral-storage", None).unwrap_err();
        assert!(unset.contains("is not set"), "{unset}");
        assert!(resource_field(&c, "cpu", None).is_err());
        assert!(resource_field(&c, "spare.cpu", None).is_err());
        assert!(resource_field(&c, "limits.cpu", Some("0")).is_err());
        assert!(parse("abc").is_none() && parse("1Qi").is_none() && parse(".").is_none());
    }
}
