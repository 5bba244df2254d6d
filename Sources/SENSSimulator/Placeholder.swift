import SENSCore
enum Placeholder {}
