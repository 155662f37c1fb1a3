//! From Works to state stores: Works scheduled to Destinations (`work`), each
//! placement's files written (`work_placement`), Destinations and stores checked
//! (`destination`, `state_store_status`), and the caches that find a store.

pub mod destination;
pub mod state_store_status;
pub mod store_lookup;
pub mod work;
pub mod work_placement;
