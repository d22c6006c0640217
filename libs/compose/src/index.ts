// Compose files (the Compose Specification) loaded into one model and translated onto the berth API.
export * from './model';
export * from './dependencies';
