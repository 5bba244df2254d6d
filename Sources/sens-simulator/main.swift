import Hummingbird
import Configuration
import Logging
import SENSSimulator
print("x")
