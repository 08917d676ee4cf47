export { TeamPage } from "./components/TeamPage";
