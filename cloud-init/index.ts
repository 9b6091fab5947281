export { DATA_MOUNT, dataDevice, renderUserData } from "./render";
export type { UserDataArgs } from "./render";
