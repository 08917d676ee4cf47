export { ObservabilityPage } from "./components/ObservabilityPage";
