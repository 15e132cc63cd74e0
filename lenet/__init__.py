"""LeNet on MNIST: the model, its data, training, preprocessing and checkpoints."""
