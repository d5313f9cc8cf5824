"""micrograd.nn on top of nbgrad.scalar.Value (same constructors, init order, repr)."""

import random

from .engine import Value, neuron


class Module:

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        # = sum((wi * xi for wi, xi in zip(self.w, x)), self.b), relu'd if nonlin
        return neuron(self.w, x, self.b, self.nonlin)

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def load_parameters(self, params):
        """Rebind the parameter Values (in parameters() order); returns the old list."""
        old = self.parameters()
        it = iter(params)
        for layer in self.layers:
            for n in layer.neurons:
                n.w = [next(it) for _ in n.w]
                n.b = next(it)
        return old

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
