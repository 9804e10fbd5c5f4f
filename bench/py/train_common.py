"""What the PyTorch training benches share with the project's trainer: its AdamW settings (float32, lr 1e-4,
betas 0.9/0.95, eps 1e-8, weight decay 0.01) and its update (clip the global gradient norm at 1.0, step,
clear the gradients)."""
import torch


def trainer_adamw(params):
    return torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)


def clip_and_step(model, opt):
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
