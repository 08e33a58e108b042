"""Message buses: the interface (base), the in-process bus (memory), the message models
(models), their wire form (messages) and JSON Schemas (contracts)."""

from connectors.bus.base import Bus, BusError, Consumer, Producer, Record, Topics
from connectors.bus.memory import MemoryBus
from connectors.bus.messages import Message
from pipeline.errors import MessageError

__all__ = [
    "Bus",
    "BusError",
    "Consumer",
    "MemoryBus",
    "Message",
    "MessageError",
    "Producer",
    "Record",
    "Topics",
]
