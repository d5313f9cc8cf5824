"""Port of the seed tutorial (PyTorch's autograd walkthrough) to nbgrad."""

import nbgrad as ng
from nbgrad import nn, optim

ng.manual_seed(0)

# 1. A one-layer network and its loss
x = ng.ones(5)  # input
y = ng.zeros(3)  # expected output
w = ng.randn(5, 3, requires_grad=True)
b = ng.randn(3, requires_grad=True)
z = ng.matmul(x, w) + b
loss = nn.functional.binary_cross_entropy_with_logits(z, y)

# 2. The computational graph
print("Gradient function for z =", z.grad_fn)
print("Gradient function for loss =", loss.grad_fn)

# 3. Computing gradients
loss.backward()
print(w.grad)
print(b.grad)

# 5. Vector-Jacobian products
inp = ng.eye(5, requires_grad=True)
out = (inp + 1).pow(2)
out.backward(ng.ones_like(inp), retain_graph=True)
print("First call\n", inp.grad)
out.backward(ng.ones_like(inp), retain_graph=True)
print("\nSecond call\n", inp.grad)
inp.grad.zero_()
out.backward(ng.ones_like(inp), retain_graph=True)
print("\nCall after zeroing gradients\n", inp.grad)

# 6. Turning gradient tracking off
z = ng.matmul(x, w) + b
print(z.requires_grad)
with ng.no_grad():
    z = ng.matmul(x, w) + b
print(z.requires_grad)

z = ng.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

# 7. A mini training loop
ng.manual_seed(0)
X = ng.randn(32, 4)
labels = (X[:, 0] + X[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
loss_fn = nn.CrossEntropyLoss()
opt = optim.SGD(model.parameters(), lr=0.5)
for step in range(10):
    opt.zero_grad()
    loss = loss_fn(model(X), labels)
    loss.backward()
    opt.step()
    print(f"step {step}: loss {loss.item():.4f}")
