"""What answers: grounded QA with citations, summaries, the tool loop, conversations."""
