//! A group as Authentik holds it, reduced to what the run decides on: shared by the decoders,
//! the superuser-inheritance rule and the planner.

use super::managed::Attributes;

/// A group as Authentik lists it, reduced to what the plan needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingGroup {
    pub pk: String,
    pub name: String,
    pub attributes: Attributes,
    /// Members of a superuser group get every permission in Authentik.
    pub is_superuser: bool,
    /// The pks of its parent groups, whose superuser rights it inherits.
    pub parents: Vec<String>,
    /// What it inherits from its ancestors, once resolved (`ancestry`).
    pub ancestry: Ancestry,
}

/// What a group inherits from its ancestors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Ancestry {
    /// No ancestor is a superuser group (or the group has no parent).
    #[default]
    Clear,
    /// This ancestor (its name, bounded) is a superuser group.
    Superuser(String),
    /// An ancestor could not be found or read, or the chain is too long: why, in words. A group
    /// that may inherit superuser rights is treated as if it did.
    Unknown(String),
}
