"""`python -m animopt ...`: the same as the `animopt` command."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="animopt")
