"""Hard limits on what a scene may ask for, in one place. Past these a scene is an error, not an hour of work."""

MAX_FRAMES = 100_000          # frames in one clip
MAX_PIXELS = 4096             # width or height of an image
MAX_RUNS = 1_000_000          # trajectories in one scene
MAX_STEPS = 10_000_000        # updates per run
MAX_SWEEP_VALUES = 100_000    # values in one swept key (list or range)
MAX_HISTORY_VALUES = 400_000_000  # (steps+1) * runs * params recorded; about 3 GB as float64
MAX_DATA_POINTS = 10_000_000  # rows of data a problem may hold
