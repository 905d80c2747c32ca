// Tests of the data and protocol layer: datasets, class orders, phases, exemplars.
import Testing
