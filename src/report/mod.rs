//! Output: terminal tables, JSON and CSV files, written atomically.

pub mod atomic;
pub mod csv_out;
pub mod html;
pub mod plots;
pub mod table;
