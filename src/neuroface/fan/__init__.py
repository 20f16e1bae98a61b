"""FAN (Bulat & Tzimiropoulos 2017): stacked-hourglass face alignment, its heatmaps and training."""
