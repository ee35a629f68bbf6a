//! Output: terminal tables, JSON and CSV files, plots and the HTML report, written atomically.

pub mod atomic;
pub mod compare_table;
pub mod csv_out;
pub mod folder_lock;
pub mod html;
pub mod numbers;
pub mod outputs;
pub mod plots;
pub mod publish;
pub mod race_report;
pub mod risk;
pub mod sets;
pub mod sweep_table;
pub mod table;
pub mod test_report;
