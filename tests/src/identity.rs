//! Service-account tokens: the runner mints one per pod, the proxy turns a
//! bearer token back into the account it belongs to.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The admin (plain HTTP on loopback): never restricted.
    Admin,
    ServiceAccount {
        namespace: String,
        name: String,
    },
    /// Any other user, as named by impersonation headers or an access review.
    User {
        name: String,
        groups: Vec<String>,
    },
}

impl Identity {
    /// The identity a user name stands for (`system:serviceaccount:NS:NAME` is an account).
    pub fn from_user(name: &str, groups: Vec<String>) -> Identity {
        match name
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
        {
            Some((namespace, account)) => Identity::ServiceAccount {
                namespace: namespace.to_owned(),
                name: account.to_owned(),
            },
            None => Identity::User {
                name: name.to_owned(),
                groups,
            },
        }
    }

    /// The user name Kubernetes gives this identity.
    pub fn user_name(&self) -> String {
        match self {
            Identity::Admin => "kratix-testenv-admin".to_owned(),
            Identity::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
            Identity::User { name, .. } => name.clone(),
        }
    }

    /// The groups Kubernetes gives this identity.
    pub fn groups(&self) -> Vec<String> {
        match self {
            Identity::Admin => vec!["system:masters".to_owned(), "system:authenticated".to_owned()],
            Identity::ServiceAccount { namespace, .. } => vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_owned(),
            ],
            Identity::User { groups, .. } => {
                let mut all = groups.clone();
                if !all.iter().any(|g| g == "system:authenticated") {
                    all.push("system:authenticated".to_owned());
                }
                all
            }
        }
    }
}

/// Tokens minted for pods, shared by the runner and the proxy.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    inner: Arc<RwLock<HashMap<String, Identity>>>,
}

impl Tokens {
    /// A fresh token for a service account.
    pub fn mint(&self, namespace: &str, name: &str) -> String {
        let token = format!(
            "testenv-{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let identity = Identity::ServiceAccount {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        if let Ok(mut map) = self.inner.write() {
            map.insert(token.clone(), identity);
        }
        token
    }

    pub fn revoke(&self, token: &str) {
        if let Ok(mut map) = self.inner.write() {
            map.remove(token);
        }
    }

    pub fn identify(&self, token: &str) -> Option<Identity> {
        self.inner.read().ok()?.get(token).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_identify_their_account_until_revoked() {
        let tokens = Tokens::default();
        let token = tokens.mint("team-a", "builder");
        assert_eq!(
            tokens.identify(&token),
            Some(Identity::ServiceAccount {
                namespace: "team-a".to_owned(),
                name: "builder".to_owned()
            })
        );
        assert_eq!(tokens.identify("other"), None);
        tokens.revoke(&token);
        assert_eq!(tokens.identify(&token), None);
    }

    #[test]
    fn service_accounts_have_the_kubernetes_user_and_groups() {
        let identity = Identity::ServiceAccount {
            namespace: "ns".to_owned(),
            name: "sa".to_owned(),
        };
        assert_eq!(identity.user_name(), "system:serviceaccount:ns:sa");
        assert_eq!(
            identity.groups(),
            [
                "system:serviceaccounts",
                "system:serviceaccounts:ns",
                "system:authenticated"
            ]
        );
    }
}
