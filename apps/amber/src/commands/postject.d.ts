// postject (npm, Node's tool for single executable applications) ships no types: the one
// function `amber bundle --exe` calls.
declare module "postject" {
  export function inject(
    filename: string,
    resourceName: string,
    resourceData: Buffer,
    options?: { sentinelFuse?: string; machoSegmentName?: string; overwrite?: boolean },
  ): Promise<void>;
}
