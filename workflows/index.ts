export { mobileVerification } from './mobileVerification';
