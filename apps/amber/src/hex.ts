/** An address or word as 0x followed by eight hex digits: one definition, the monitor's. */
export { hex8 } from "@amber/monitor";
