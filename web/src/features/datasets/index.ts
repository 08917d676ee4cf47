export { default as DatasetsPage } from "./components/DatasetsPage";
