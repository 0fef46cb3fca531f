"""Language tools that the domain packages share (the catalogs live beside this file)."""
