"""Documents HR takes away from an exit: the ledger and the checklist as spreadsheets (XLSX, CSV)
and the handover sheet (离职交接单) as a printable page and a PDF, all in the reader's language.
Rendering only: what is read, and who may read it, is decided in offboard.queries.handover, and
offboard.actions.exports audits every export."""
