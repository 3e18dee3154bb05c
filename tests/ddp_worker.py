"""Run under torchrun by test_training.py: train a few steps, save this rank's weights."""

import os
import sys

import torch
from textclean_train import train_inpainter, train_segmenter

if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    trainer = train_segmenter if kind == "segmenter" else train_inpainter
    torch.set_num_threads(1)
    model = trainer.main(sys.argv[3:])
    torch.save(model.state_dict(), os.path.join(out, f"rank{os.environ.get('RANK', '0')}.pt"))
