"""Stage 4: IR -> {path: contents}. Pure; nothing here writes files."""
