"""Query optimization: task detection, rewriting strategies, quality scoring and learning."""
