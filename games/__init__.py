"""Pure game rules (wheel, mascot hunt, draws): functions of config, state and rng; stdlib only."""
